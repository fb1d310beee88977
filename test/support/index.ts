/**
 * Helpers shared by the integration tests and the benchmarks.
 */
export {
  eventBridgeClient,
  removeDataDir,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./busbar-process.js";
