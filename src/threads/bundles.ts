/**
 * Bundles of TypeScript entries for running without tsx (tests, benchmarks): an entry and the
 * sources it imports made into one JavaScript module by esbuild (tsx's own), packages left as
 * imports. Each is kept in `node_modules/.cache/busbar-bundles/` (where the packages it imports
 * resolve) with a manifest of what it was made from (each source's modification time and size, and
 * the files that say how it is built: the caller's, tsconfig.json, esbuild's version), so that later
 * processes use it without running esbuild while none of them changed. Files are written whole (a
 * rename) and bundles, named by their content, never change, so that processes running at once share
 * them. Never used by the compiled package.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { threadId } from "node:worker_threads";
import type { BuildOptions } from "esbuild";

/** The project's root (esbuild names a bundle's inputs relative to it). */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Where bundles go: beside the packages they import, which resolve from there. */
const BUNDLE_DIR = join(PROJECT_ROOT, "node_modules", ".cache", "busbar-bundles");

/** Bundles and manifests not used for this long are removed when a new bundle is saved. */
const KEEP_UNUSED_MS = 24 * 60 * 60 * 1000;

/** Files that say how every bundle is built, beside the caller's own. */
const BUILD_FILES = [
  fileURLToPath(import.meta.url.replace(/\.js$/, ".ts")),
  join(PROJECT_ROOT, "tsconfig.json"),
  join(PROJECT_ROOT, "node_modules", "esbuild", "package.json"),
];

/** esbuild's options for a bundle of `entry` (a path): ESM for Node 20, packages left as imports. */
export function bundleOptions(entry: string): BuildOptions & { metafile: true; write: false } {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    write: false,
    metafile: true,
    absWorkingDir: PROJECT_ROOT,
  };
}

/** What a bundle was made from; `bundle` null: one that cannot be used (it reads `import.meta`). */
interface Manifest {
  readonly bundle: string | null;
  readonly inputs: Readonly<Record<string, string>>;
}

/** A file's modification time and size; undefined when it is not there. */
function statOf(path: string): { mtimeMs: number; size: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** A file's version as a manifest records it; undefined when it is not there. */
function versionOf(path: string): string | undefined {
  const s = statOf(path);
  return s === undefined ? undefined : `${s.mtimeMs}:${s.size}`;
}

/** The manifest of bundles called `name` of this project (checkouts may share node_modules). */
function manifestFile(name: string): string {
  const project = createHash("sha256").update(PROJECT_ROOT).digest("hex").slice(0, 8);
  return join(BUNDLE_DIR, `${name}-${project}.json`);
}

/**
 * The bundle saved under `name` when nothing it was made from changed since: its URL, or null when it
 * was found unusable; undefined when there is none to reuse (build it).
 */
export function reusableBundle(name: string): URL | null | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile(name), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  for (const [path, version] of Object.entries(manifest.inputs)) {
    if (versionOf(path) !== version) return undefined;
  }
  if (manifest.bundle === null) return null;
  const file = join(BUNDLE_DIR, manifest.bundle);
  return existsSync(file) ? pathToFileURL(file) : undefined;
}

/** The names of bundles found unusable, warned about once per process. */
const warned = new Set<string>();

/**
 * Saves a bundle under `name` with a manifest of `inputs` (esbuild's metafile's, relative to
 * {@link PROJECT_ROOT}) and `buildFiles` (the caller's files that say how it was built), as they were
 * when the build began (`startedAt`); its URL, or undefined when it reads `import.meta` (whose `url`
 * would be the bundle's, not that of the source it is written in): the caller then runs the sources,
 * and later processes do so without building until an input changes. No manifest is written when an
 * input changed while it was built (the next process builds again).
 */
export function saveBundle(
  name: string,
  text: string,
  inputs: readonly string[],
  buildFiles: readonly string[],
  startedAt: number,
): URL | undefined {
  const usable = !/\bimport\.meta\b/.test(text);
  mkdirSync(BUNDLE_DIR, { recursive: true });
  let file: string | undefined;
  if (usable) {
    file = join(BUNDLE_DIR, `${name}-${createHash("sha256").update(text).digest("hex").slice(0, 16)}.mjs`);
    if (!existsSync(file)) {
      writeWhole(file, text);
      pruneUnused();
    }
  } else if (!warned.has(name)) {
    warned.add(name);
    console.error(
      `*** ${name}: a module of the bundle reads its own URL (import meta), which would be the bundle's: running the sources through tsx`,
    );
  }
  const versions: Record<string, string> = {};
  let settled = true;
  for (const path of [
    ...inputs.map((input) => resolve(PROJECT_ROOT, input)),
    ...BUILD_FILES,
    ...buildFiles,
  ]) {
    const s = statOf(path);
    // Changed while it was built (or just before: file times are coarse), or gone: not recorded.
    if (s === undefined || s.mtimeMs >= startedAt - 50) settled = false;
    else versions[path] = `${s.mtimeMs}:${s.size}`;
  }
  if (settled) {
    const manifest: Manifest = {
      bundle: file === undefined ? null : file.slice(BUNDLE_DIR.length + 1),
      inputs: versions,
    };
    writeWhole(manifestFile(name), JSON.stringify(manifest));
  }
  return file === undefined ? undefined : pathToFileURL(file);
}

/** Removes the bundles and manifests not used (read or written) for {@link KEEP_UNUSED_MS}. */
function pruneUnused(): void {
  const now = Date.now();
  for (const entry of readdirSync(BUNDLE_DIR)) {
    const path = join(BUNDLE_DIR, entry);
    try {
      const s = statSync(path);
      if (now - Math.max(s.atimeMs, s.mtimeMs) > KEEP_UNUSED_MS) rmSync(path, { force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

/** Writes a file whole: readers see the old one or the new one, never a part. */
function writeWhole(path: string, text: string): void {
  const partial = `${path}.${process.pid}-${threadId}-${randomBytes(4).toString("hex")}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}
