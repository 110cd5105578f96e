import { runClusterSuite } from "./cluster-suite";

runClusterSuite("dev");
