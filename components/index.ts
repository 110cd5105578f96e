/**
 * The package's entry point (`import { ... } from "ducklake-pgmq"`, package.json `exports`): the components and
 * the functions another Pulumi program needs to put the queue database into its own stack. Parse a config with
 * `parseStackConfig` (every rule, every problem at once), derive every decision once with `deriveStack`, then
 * wire the components with your own providers, as this repository's index.ts does and examples/queue-database
 * shows. Only this module is the package's surface; deep paths are not exported.
 */
// Config: the schema's types, the parser with every rule, and its error.
export type { StackConfig, StackConfigInput } from "../config/schema";
export { CONFIG_NAMESPACE, SECRET_KEYS, StackConfigSchema } from "../config/schema";
export { ConfigError, formatIssue, type ConfigIssue } from "../config/issues";
export type { LoadedConfig, ParsedConfig, StackKeys } from "../config/load";
// Every decision of a stack, derived once; the config parsers that run every rule.
export { deriveStack, loadConfig, parseStackConfig, SEMANTIC_VALIDATORS, type StackDecisions } from "./stack";
// Providers and prerequisites.
export { createProviders, type EksOidc, type StackProviders } from "./providers";
export { readKindNodeCapacity, readRequiredCrds, requiredCrds, type RequiredCrd } from "./prerequisites";
// PostgreSQL: CloudNativePG operator + cluster, its image.
export { PostgresCluster, type PostgresClusterArgs } from "./postgres/cluster";
export { postgresClusterInputs, type PostgresClusterInputs } from "./postgres/cluster-inputs";
export { resolveImage, type ResolvedImage } from "./postgres/image";
// The queue: bootstrap SQL Job, partition-maintenance CronJob, alert rules.
export { QueueBootstrap, type QueueBootstrapArgs } from "./queue/bootstrap-job";
export { PartitionMaintenance, type PartitionMaintenanceArgs } from "./queue/partition-maintenance-job";
export { QueueAlerts, type QueueAlertsArgs } from "./queue/queue-alerts";
// Logs.
export { Logging, type LoggingArgs } from "./logging/logging";
// AWS (EKS stacks): node group, gp3 class, backups.
export { createAwsInfrastructure, type AwsInfrastructure } from "./aws/infrastructure";
export { SsdNodeGroup, type SsdNodeGroupArgs } from "./aws/ssd-node-group";
export { Gp3StorageClass, type Gp3StorageClassArgs } from "./aws/gp3-storage";
export { BackupStorage, type BackupStorageArgs } from "./aws/backup-storage";
