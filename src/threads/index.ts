/**
 * Worker threads of a node (the store thread, the front thread): started from the compiled `.js`
 * entry in the package, or from the `.ts` source under tsx (tests, benchmarks).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type * as EsBuild from "esbuild";

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

/** Where bundles of `.ts` worker entries go: beside the packages they import, which resolve from there. */
const BUNDLE_DIR = new URL("../../node_modules/.cache/busbar-workers/", import.meta.url);

/** The bundle of each `.ts` entry this process made or found (undefined: none could be). */
const bundles = new Map<string, URL | undefined>();

/** What a bundle was made from: each input's path with its modification time and size. */
interface Manifest {
  readonly bundle: string;
  readonly inputs: Readonly<Record<string, string>>;
}

/** An input file's version, as a manifest records it ("" when it is gone). */
function versionOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return "";
  }
}

/**
 * A `.ts` worker entry and the sources it imports bundled into one JavaScript module (packages left
 * as imports) with esbuild (which tsx runs on): a worker started from it loads in about a fifth of the
 * time a worker that registers tsx first takes (tsx's loader and its hooks thread, about 0.25 s per
 * worker, which tests that start hundreds of servers and stores paid for each). A manifest beside it
 * lists its inputs with their modification times and sizes, so that a later process uses it without
 * running esbuild while none changed. Undefined when esbuild is not installed or cannot bundle it
 * (the tsx bootstrap then loads the source, and reports what is wrong with it), or when a module of
 * it reads `import.meta` (whose `url` would be the bundle's). Files are written whole (a rename) and
 * bundles, named by their content, never change, so that processes running at once share them.
 */
function bundledEntry(entry: URL): URL | undefined {
  if (bundles.has(entry.href)) return bundles.get(entry.href);
  let bundled: URL | undefined;
  try {
    const name = entry.pathname.split("/").slice(-2).join("-").replace(/\.ts$/, "");
    const manifestFile = fileURLToPath(new URL(`${name}.json`, BUNDLE_DIR));
    bundled = reusable(manifestFile) ?? bundle(entry, name, manifestFile);
  } catch {
    bundled = undefined;
  }
  bundles.set(entry.href, bundled);
  return bundled;
}

/** The bundle a manifest names when none of its inputs changed since. */
function reusable(manifestFile: string): URL | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  for (const [path, version] of Object.entries(manifest.inputs)) {
    if (versionOf(path) !== version) return undefined;
  }
  const file = new URL(manifest.bundle, BUNDLE_DIR);
  return existsSync(file) ? file : undefined;
}

/** Bundles `entry`, writes the bundle and its manifest; undefined when it reads `import.meta`. */
function bundle(entry: URL, name: string, manifestFile: string): URL | undefined {
  const esbuild = createRequire(import.meta.url)("esbuild") as typeof EsBuild;
  const built = esbuild.buildSync({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    write: false,
    metafile: true,
    absWorkingDir: fileURLToPath(new URL("../../", import.meta.url)),
  });
  const text = built.outputFiles[0]?.text;
  if (text === undefined || text.includes("import.meta")) return undefined;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const bundleName = `${name}-${hash}.mjs`;
  const file = new URL(bundleName, BUNDLE_DIR);
  mkdirSync(BUNDLE_DIR, { recursive: true });
  if (!existsSync(file)) writeWhole(fileURLToPath(file), text);
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(built.metafile.inputs)) {
    const path = join(root, input);
    inputs[path] = versionOf(path);
  }
  writeWhole(manifestFile, JSON.stringify({ bundle: bundleName, inputs } satisfies Manifest));
  return file;
}

/** Writes a file whole: readers see the old one or the new one, never a part. */
function writeWhole(path: string, text: string): void {
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}
