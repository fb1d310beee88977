/**
 * Worker threads of a node (the store thread, the front thread): started from the compiled `.js`
 * entry in the package, or from the `.ts` source under tsx (tests, benchmarks).
 */
import { Worker } from "node:worker_threads";

/**
 * Starts the worker whose entry module sits beside `callerUrl` (the caller's `import.meta.url`) under
 * `entryName` without its extension.
 */
export function startWorker(callerUrl: string, entryName: string, workerData: unknown): Worker {
  const typescript = callerUrl.endsWith(".ts");
  const entry = new URL(`./${entryName}${typescript ? ".ts" : ".js"}`, callerUrl);
  // Node 20 does not carry the tsx loader into workers: a small bootstrap registers it first.
  return typescript
    ? new Worker(
        `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
}
