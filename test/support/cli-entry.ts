/**
 * How the tests run the `busbar` command from the TypeScript sources: the Node.js arguments before
 * the command's own. A bundle of src/cli/main.ts (src/threads/bundles.ts) when esbuild can make one:
 * a process started from it spends about 0.4 s of CPU where one that loads the sources through tsx
 * spends about 1.1 s, and the suite starts hundreds. Each module's `import.meta.url` is its source
 * file's in the bundle, as under tsx. Otherwise (no esbuild) the sources through tsx.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { PROJECT_ROOT, bundleOptions, reusableBundle, saveBundle } from "../../src/threads/index.js";

const MAIN = join(PROJECT_ROOT, "src", "cli", "main.ts");

/** Every TypeScript source's `import.meta.url` replaced by its own file's URL. */
const sourceUrls: Plugin = {
  name: "source-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replaceAll(
        "import.meta.url",
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: "ts",
    }));
  },
};

async function bundledMain(): Promise<URL | undefined> {
  const reused = reusableBundle("cli-main");
  if (reused !== undefined) return reused ?? undefined;
  try {
    const startedAt = Date.now();
    const esbuild = await import("esbuild");
    const built = await esbuild.build({ ...bundleOptions(MAIN), plugins: [sourceUrls] });
    const text = built.outputFiles[0]?.text;
    if (text === undefined) return undefined;
    // This file's plugin says how the bundle is built.
    const self = [fileURLToPath(import.meta.url)];
    return saveBundle("cli-main", text, Object.keys(built.metafile.inputs), self, startedAt);
  } catch (e) {
    console.error(
      `*** running busbar through tsx: its sources could not be bundled: ${(e as Error).message}`,
    );
    return undefined;
  }
}

const bundle = await bundledMain();

/** The arguments that run `busbar` (before its own): the bundle, or the sources through tsx. */
export const BUSBAR_ENTRY: readonly string[] =
  bundle === undefined ? ["--import", "tsx", MAIN] : [fileURLToPath(bundle)];
