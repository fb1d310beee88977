/**
 * Worker threads of a node (the store thread, the front thread): started from the compiled `.js`
 * entry in the package, or from the `.ts` source under tsx (tests, benchmarks).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type * as EsBuild from "esbuild";
import { bundleOptions, reusableBundle, saveBundle } from "./bundles.js";

export { PROJECT_ROOT, bundleOptions, reusableBundle, saveBundle } from "./bundles.js";

/**
 * Starts the worker whose entry module sits beside `callerUrl` (the caller's `import.meta.url`) under
 * `entryName` without its extension.
 */
export function startWorker(callerUrl: string, entryName: string, workerData: unknown): Worker {
  if (!callerUrl.endsWith(".ts")) return new Worker(new URL(`./${entryName}.js`, callerUrl), { workerData });
  const entry = new URL(`./${entryName}.ts`, callerUrl);
  const bundled = bundledEntry(entry);
  if (bundled !== undefined) return new Worker(bundled, { workerData });
  // Node 20 does not carry the tsx loader into workers: a small bootstrap registers it first.
  return new Worker(
    `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
    { eval: true, workerData },
  );
}

/** The bundle of each `.ts` entry this process made or found (undefined: none could be). */
const bundles = new Map<string, URL | undefined>();

/**
 * A `.ts` worker entry bundled (./bundles.ts): a worker started from it loads in about a fifth of the
 * time a worker that registers tsx first takes (tsx's loader and its hooks thread, about 0.25 s of
 * CPU per worker, which tests that start hundreds of servers and stores paid for each). Undefined
 * when esbuild is not installed or cannot bundle it (the tsx bootstrap then loads the source, and
 * reports what is wrong with it), or when a module of it reads `import.meta`.
 */
function bundledEntry(entry: URL): URL | undefined {
  if (bundles.has(entry.href)) return bundles.get(entry.href);
  let bundled: URL | undefined;
  try {
    const name = entry.pathname.split("/").slice(-2).join("-").replace(/\.ts$/, "");
    const reused = reusableBundle(name);
    if (reused === undefined) {
      const startedAt = Date.now();
      const esbuild = createRequire(import.meta.url)("esbuild") as typeof EsBuild;
      const built = esbuild.buildSync(bundleOptions(fileURLToPath(entry)));
      const text = built.outputFiles[0]?.text;
      if (text !== undefined) {
        // This file says how the workers' bundles are built.
        const self = [fileURLToPath(import.meta.url)];
        bundled = saveBundle(name, text, Object.keys(built.metafile.inputs), self, startedAt);
      }
    } else bundled = reused ?? undefined;
  } catch {
    bundled = undefined;
  }
  bundles.set(entry.href, bundled);
  return bundled;
}
