/**
 * Does the dev stack fit on its kind node? The pods the stack creates request CPU and memory on kind's single node,
 * beside kind's own system pods; when the sum exceeds the node's allocatable, Postgres stays `Pending` and
 * `pulumi up` fails only when the bootstrap Job times out (issue 15 row 6). This file holds the arithmetic (pure);
 * components/prerequisites.ts reads the node in `pulumi preview` and applies it.
 */
import type { StackConfig } from "../config/schema";
import { parseKubeCpuMillis, parseKubeMemoryBytes } from "../config/units";
import { GRAFANA_RESOURCES } from "./logging/grafana-values";
import { PROMTAIL_RESOURCES } from "./logging/promtail-values";
import { ALLOY_RESOURCES } from "./logging/alloy-config";
import { PROMETHEUS_RELOADER_RESOURCES, PROMETHEUS_RESOURCES } from "./logging/prometheus-values";
import { BOOTSTRAP_JOB_RESOURCES } from "./queue/bootstrap-job";
import { PARTITION_MAINTENANCE_RESOURCES } from "./queue/partition-maintenance-job";

/** What one pod (or a group of identical pods) requests. */
export interface PodRequest {
  /** Who asks, e.g. `postgres (1 instance)`. */
  readonly what: string;
  readonly cpuMillis: number;
  readonly memoryBytes: number;
}

/** A container's `resources.requests`, as Kubernetes spells them. */
export interface ResourceRequests {
  readonly requests: { readonly cpu: string; readonly memory: string };
}

/**
 * The requests of kind's own pods on its control-plane node, which the node's allocatable does not subtract:
 * kubeadm's static pods (kube-apiserver 250m, kube-controller-manager 200m, kube-scheduler 100m:
 * cmd/kubeadm/app/phases/controlplane/manifests.go `ComponentResources`; etcd 100m / 100Mi:
 * cmd/kubeadm/app/phases/etcd/local.go), CoreDNS (2 replicas x 100m / 70Mi, kubeadm's CoreDNS addon manifest) and
 * kind's kindnet DaemonSet (100m / 50Mi, kind's images/kindnetd manifest).
 */
export const KIND_SYSTEM_REQUESTS: PodRequest = {
  what: "kind's own pods (kube-apiserver, controller-manager, scheduler, etcd, 2 x CoreDNS, kindnet)",
  cpuMillis: 250 + 200 + 100 + 100 + 2 * 100 + 100,
  memoryBytes: (100 + 2 * 70 + 50) * 1024 ** 2,
};

function request(what: string, r: ResourceRequests, count = 1): PodRequest {
  return {
    what: count === 1 ? what : `${what} x ${count}`,
    cpuMillis: parseKubeCpuMillis(r.requests.cpu) * count,
    memoryBytes: parseKubeMemoryBytes(r.requests.memory) * count,
  };
}

/**
 * The requests of every pod the stack puts on a single-node cluster: the Postgres instances (request = limit,
 * `postgres.resources`), Loki (`logging.loki.resources`), the Prometheus server pod (server + config reloader) and
 * Grafana when enabled, the log agent (one DaemonSet pod per node), and the queue bootstrap Job. The CloudNativePG operator and the PgBouncer pods request nothing
 * (their charts set no requests; seen in `npm run plan -- dev --render`).
 */
export function stackPodRequests(config: Pick<StackConfig, "postgres" | "logging">): PodRequest[] {
  const pg = config.postgres;
  const pods: PodRequest[] = [
    request("postgres", { requests: pg.resources }, pg.instances),
    request("loki", { requests: config.logging.loki.resources }),
    request(config.logging.agent, config.logging.agent === "alloy" ? ALLOY_RESOURCES : PROMTAIL_RESOURCES),
    request("queue bootstrap Job", BOOTSTRAP_JOB_RESOURCES),
    request("partition-maintenance CronJob", PARTITION_MAINTENANCE_RESOURCES),
  ];
  if (config.logging.prometheus.enabled) {
    // the server and its config-reloader sidecar, one pod
    pods.push({
      what: "prometheus",
      cpuMillis:
        parseKubeCpuMillis(PROMETHEUS_RESOURCES.requests.cpu) +
        parseKubeCpuMillis(PROMETHEUS_RELOADER_RESOURCES.requests.cpu),
      memoryBytes:
        parseKubeMemoryBytes(PROMETHEUS_RESOURCES.requests.memory) +
        parseKubeMemoryBytes(PROMETHEUS_RELOADER_RESOURCES.requests.memory),
    });
  }
  if (config.logging.grafana.enabled) pods.push(request("grafana", GRAFANA_RESOURCES));
  return pods;
}

/** A node's `status.allocatable` (Kubernetes quantities). */
export interface NodeAllocatable {
  readonly cpu: string;
  readonly memory: string;
}

/**
 * Whether the stack's pods and kind's own fit the node.
 * @returns one message naming the node, each shortfall (requested vs allocatable) and the biggest requests, or
 *   undefined when everything fits.
 */
export function kindCapacityProblem(
  nodeName: string,
  allocatable: NodeAllocatable,
  pods: readonly PodRequest[],
): string | undefined {
  const all = [...pods, KIND_SYSTEM_REQUESTS];
  const cpu = all.reduce((s, p) => s + p.cpuMillis, 0);
  const memory = all.reduce((s, p) => s + p.memoryBytes, 0);
  const haveCpu = parseKubeCpuMillis(allocatable.cpu);
  const haveMemory = parseKubeMemoryBytes(allocatable.memory);
  const short: string[] = [];
  if (cpu > haveCpu) short.push(`CPU ${cpu}m requested, ${haveCpu}m allocatable`);
  if (memory > haveMemory) short.push(`memory ${mib(memory)} requested, ${mib(haveMemory)} allocatable`);
  if (short.length === 0) return undefined;
  const terms = all.map((p) => `${p.what} ${p.cpuMillis}m / ${mib(p.memoryBytes)}`).join("; ");
  return (
    `the kind node ${nodeName} is too small for the stack: ${short.join(", ")} (${terms}). Postgres would stay ` +
    "Pending and the bootstrap Job would time out. Give the container engine more CPUs and memory (Docker Desktop: " +
    "Settings > Resources), or lower ducklake:postgres.resources / ducklake:logging.loki.resources"
  );
}

/**
 * The node a kind cluster's single node is called, from the kubeconfig context kind writes (`kind-<cluster>`;
 * the node is `<cluster>-control-plane`, kind's pkg/cluster/internal/create naming).
 * @returns undefined for a context kind did not name.
 */
export function kindNodeName(kubeContext: string): string | undefined {
  const m = /^kind-(.+)$/.exec(kubeContext);
  return m ? `${m[1]}-control-plane` : undefined;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)}Mi`;
}
