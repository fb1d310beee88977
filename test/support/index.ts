/**
 * Helpers shared by the integration tests and the benchmarks.
 */
export {
  eventBridgeClient,
  NODE_FLAGS,
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./busbar-process.js";
export { createQueue, rejectsWith } from "./sqs.js";
export { callAwsJson, createAccount, signedHeaders, signedRequestText } from "./aws-json.js";
export { metric } from "./metrics.js";
export { targetInvocation } from "./invocations.js";
export { reachable, reachablePorts } from "./reachable.js";
export { printedJson, runBusbar, type CliRun } from "./cli.js";
export { BUSBAR_ENTRY } from "./cli-entry.js";
export { TcpProxy } from "./tcp-proxy.js";
export { fillDisk, mountTmpfs, tmpfsFor, unmountTmpfs } from "./tmpfs.js";
