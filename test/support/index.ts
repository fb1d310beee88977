/**
 * Helpers shared by the integration tests and the benchmarks.
 */
export { removeDataDir, startBusbar, TEST_ROOT, type BusbarProcess } from "./busbar-process.js";
