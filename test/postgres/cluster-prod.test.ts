import { runClusterSuite } from "./cluster-suite";

runClusterSuite("prod");
