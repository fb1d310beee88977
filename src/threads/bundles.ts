/**
 * Bundles of TypeScript entries for running without tsx (tests, benchmarks): an entry and the
 * sources it imports made into one JavaScript module by esbuild (tsx's own), packages left as
 * imports. Each is kept in `node_modules/.cache/busbar-bundles/` (where the packages it imports
 * resolve) with a manifest of its inputs' modification times and sizes, so that later processes use
 * it without running esbuild while none changed. Files are written whole (a rename) and bundles,
 * named by their content, never change, so that processes running at once share them.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The project's root (bundles name their inputs relative to it). */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Where bundles go: beside the packages they import, which resolve from there. */
const BUNDLE_DIR = new URL("../../node_modules/.cache/busbar-bundles/", import.meta.url);

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

function manifestFile(name: string): string {
  return fileURLToPath(new URL(`${name}.json`, BUNDLE_DIR));
}

/** The bundle saved under `name` when none of its inputs changed since; undefined otherwise. */
export function reusableBundle(name: string): URL | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile(name), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  for (const [path, version] of Object.entries(manifest.inputs)) {
    if (versionOf(path) !== version) return undefined;
  }
  const file = new URL(manifest.bundle, BUNDLE_DIR);
  return existsSync(file) ? file : undefined;
}

/**
 * Saves a bundle under `name`, with the versions its inputs (paths relative to {@link PROJECT_ROOT},
 * as esbuild's metafile gives them) have now; undefined when it reads `import.meta`, whose `url`
 * would be the bundle's, not that of the source it is written in.
 */
export function saveBundle(name: string, text: string, inputs: readonly string[]): URL | undefined {
  if (/\bimport\.meta\b/.test(text)) return undefined;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const bundleName = `${name}-${hash}.mjs`;
  const file = new URL(bundleName, BUNDLE_DIR);
  mkdirSync(BUNDLE_DIR, { recursive: true });
  if (!existsSync(file)) writeWhole(fileURLToPath(file), text);
  const versions: Record<string, string> = {};
  for (const input of inputs) {
    const path = fileURLToPath(new URL(input, `file://${PROJECT_ROOT}`));
    versions[path] = versionOf(path);
  }
  writeWhole(manifestFile(name), JSON.stringify({ bundle: bundleName, inputs: versions } satisfies Manifest));
  return file;
}

/** Writes a file whole: readers see the old one or the new one, never a part. */
function writeWhole(path: string, text: string): void {
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}
