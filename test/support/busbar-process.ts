/**
 * Runs a real `busbar serve` process on a random loopback port with a temporary data directory, for
 * integration tests: start, wait until it listens, stop with SIGTERM or kill with SIGKILL, restart on
 * the same data directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import { BUSBAR_ENTRY } from "./cli-entry.js";

const root = join(import.meta.dirname, "..", "..");

/**
 * The Node.js flags the installed command runs with: those on the first line of bin/busbar.js
 * (`#!/usr/bin/env -S node <flags>`), so that test and benchmark servers run as users' do.
 */
export const NODE_FLAGS: readonly string[] = (() => {
  const first = readFileSync(join(root, "bin", "busbar.js"), "utf8").split("\n", 1)[0] ?? "";
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z-]+=\S+)*)$/.exec(first);
  if (m === null)
    throw new Error(`bin/busbar.js does not start with "#!/usr/bin/env -S node <flags>": ${first}`);
  return (m[1] ?? "").split(" ").filter((flag) => flag !== "");
})();

/** Root credentials the test servers run with. */
export const TEST_ROOT = {
  accessKeyId: "BBTESTROOTKEY0000001",
  secretAccessKey: "test-root-secret-0123456789abcdef",
};

/** An EventBridge client for a test server: root credentials unless given others, no retries. */
export function eventBridgeClient(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string } = TEST_ROOT,
): EventBridgeClient {
  return new EventBridgeClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });
}

/** An SQS client for a test server: root credentials unless given others, no retries. */
export function sqsClient(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string } = TEST_ROOT,
): SQSClient {
  return new SQSClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });
}

/** A running test server. */
export interface BusbarProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL. */
  kill(): Promise<void>;
}

/**
 * Starts `busbar serve` with the command's {@link NODE_FLAGS} (then `nodeArgs`, which may override
 * them); `dataDir` defaults to a new temporary directory. `wrapper` runs it through a command that
 * execs it (`prlimit --nofile=128:128`, say).
 */
export async function startBusbar(
  options: { dataDir?: string; env?: Record<string, string>; nodeArgs?: string[]; wrapper?: string[] } = {},
): Promise<BusbarProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "busbar-test-"));
  const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
  const child = spawn(
    command,
    [
      ...prefix,
      ...NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      ...BUSBAR_ENTRY,
      "serve",
      "--port",
      "0",
      "--data-dir",
      dataDir,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        BUSBAR_ROOT_ACCESS_KEY_ID: TEST_ROOT.accessKeyId,
        BUSBAR_ROOT_SECRET_ACCESS_KEY: TEST_ROOT.secretAccessKey,
        BUSBAR_LOG_LEVEL: "info",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`busbar did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`busbar exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    dataDir,
    child,
    output: () => out,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Removes a test data directory. */
export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
