/**
 * `busbar test-pattern`, run as a real process: exit 0 on a match, 1 on no match, 2 with the reason
 * when the pattern is invalid, 3 when it could not be evaluated.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_FLAGS, removeDataDir, runBusbar, TEST_ROOT, type CliRun } from "./support/index.js";

/** The test root credentials as `serve` takes them from its environment. */
const TEST_ROOT_ENV = {
  BUSBAR_ROOT_ACCESS_KEY_ID: TEST_ROOT.accessKeyId,
  BUSBAR_ROOT_SECRET_ACCESS_KEY: TEST_ROOT.secretAccessKey,
};

const dir = mkdtempSync(join(tmpdir(), "busbar-cli-"));

function busbar(args: string[], input?: string): CliRun {
  return runBusbar(args, input === undefined ? {} : { input });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** An event as TestEventPattern takes it: the envelope's fields, with `more` over them. */
const envelope = (more: object): string =>
  JSON.stringify({
    version: "0",
    id: "0a1b2c3d-0000-4000-8000-000000000001",
    "detail-type": "d",
    source: "shop",
    account: "000000000000",
    time: "2026-12-06T00:00:00Z",
    region: "us-east-1",
    resources: [],
    ...more,
  });

describe("busbar test-pattern", () => {
  const event = file("event.json", envelope({ detail: { total: 12 } }));

  it("exits 0 and prints match when the event matches (the README example too)", () => {
    const r = busbar([
      "test-pattern",
      "--pattern",
      "examples/pattern.json",
      "--event",
      "examples/event.json",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "match");
  });
  it("exits 1 when the event does not match", () => {
    const pattern = file("miss.json", '{"detail":{"total":[{"numeric":[">",100]}]}}');
    const r = busbar(["test-pattern", "--pattern", pattern, "--event", event]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout.trim(), "no match");
  });
  it("exits 2 and names the field and the rule when the pattern is invalid", () => {
    const r = busbar(
      ["test-pattern", "--pattern", "-", "--event", event],
      '{"detail":{"total":[{"numeric":[">"]}]}}',
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /field "detail.total": Value of > must be numeric/);
  });
  it("exits 2 when the event is not valid JSON or a file is missing", () => {
    const pattern = file("ok.json", '{"source":["shop"]}');
    const bad = file("bad.json", '{"source": "shop",}');
    assert.equal(busbar(["test-pattern", "--pattern", pattern, "--event", bad]).status, 2);
    const missing = busbar(["test-pattern", "--pattern", join(dir, "nope.json"), "--event", event]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /ENOENT/);
    // An event that is JSON but not an object is invalid, not a "no match".
    const array = busbar(["test-pattern", "--pattern", pattern, "--event", file("array.json", "[1,2]")]);
    assert.equal(array.status, 2);
    assert.match(array.stderr, /Event must be a JSON object/);
  });
  it("refuses what TestEventPattern and PutRule refuse: an event without its envelope, a pattern too long or with a byte-order mark", () => {
    const pattern = file("shop.json", '{"source":["shop"]}');
    const bare = busbar([
      "test-pattern",
      "--pattern",
      pattern,
      "--event",
      file("bare.json", '{"source":"shop"}'),
    ]);
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /^invalid: Event must have the string field "id"\./);
    const numbered = busbar([
      "test-pattern",
      "--pattern",
      pattern,
      "--event",
      file("n.json", envelope({ source: 5 })),
    ]);
    assert.match(numbered.stderr, /Event must have the string field "source"/);
    // 2,039 characters, then 50 spaces: within the limit only once trimmed, which PutRule does not do.
    const padded = `{"source":["${"s".repeat(2039 - 15)}"]}` + " ".repeat(50);
    const long = busbar(["test-pattern", "--pattern", file("padded.json", padded), "--event", event]);
    assert.equal(long.status, 2, long.stdout);
    assert.match(long.stderr, /2089 characters long, more than the limit of 2048/);
    const marked = busbar([
      "test-pattern",
      "--pattern",
      file("bom.json", '\ufeff{"source":["shop"]}'),
      "--event",
      event,
    ]);
    assert.equal(marked.status, 2, marked.stdout);
  });
  it("exits 2 when both the pattern and the event are to come from standard input", () => {
    const r = busbar(["test-pattern", "--pattern", "-", "--event", "-"], '{"source":["shop"]}');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /only one of --pattern and --event can be read from standard input/);
  });
  it("exits 3 in one line when the pattern could not be evaluated against the event, not 1 (no match)", () => {
    // Thirty alternatives with conditions on two fields of each of 9000 elements: more steps than
    // matching one event may take.
    const alternatives = Array.from({ length: 30 }, (_, k) => ({
      a: [{ "anything-but": String(k) }],
      b: [{ "anything-but": String(k) }],
    }));
    const pattern = file("many.json", JSON.stringify({ detail: { p: { $or: alternatives } } }));
    const big = file(
      "big.json",
      envelope({ detail: { p: Array.from({ length: 9000 }, () => ({ a: "x", b: "y" })) } }),
    );
    const r = busbar(["test-pattern", "--pattern", pattern, "--event", big]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^error: the pattern could not be evaluated against the event: Matching the event would take more than/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });
  it("names the file it cannot read, a directory too", () => {
    const r = busbar(["test-pattern", "--pattern", dir, "--event", event]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^error: cannot read ${dir}: EISDIR`));
  });
  it("refuses a file over 1 MiB, an endless one too, in every command that reads one", () => {
    const big = file("big-input.json", `{"source":["${"s".repeat(1024 * 1024)}"]}`);
    for (const [args, what] of [
      [["test-pattern", "--pattern", "/dev/zero", "--event", event], "/dev/zero"],
      [["test-pattern", "--pattern", big, "--event", event], big],
      [["test-pattern", "--pattern", event, "--event", "/dev/zero"], "/dev/zero"],
      [
        ["keys", "create", "--account", "000000000000", "--policy", "/dev/zero", "--data-dir", dir],
        "policy file /dev/zero",
      ],
      [
        [
          "targets",
          "rotate-signing-secret",
          "--rule",
          "r",
          "--target-id",
          "t",
          "--secret-file",
          "/dev/zero",
          "--endpoint",
          "http://127.0.0.1:9",
        ],
        "--secret-file /dev/zero",
      ],
    ] as const) {
      // Killed at 20 s: one that reads on fills memory.
      const r = runBusbar(args, { timeoutMs: 20_000 });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(
        r.stderr.trim(),
        `error: ${what} holds more than 1 MiB: is it the right file?`,
        args.join(" "),
      );
    }
    // Standard input alike; a policy may come from there too.
    const piped = busbar(["test-pattern", "--pattern", "-", "--event", event], " ".repeat(1024 * 1024 + 1));
    assert.equal(piped.status, 2);
    assert.match(piped.stderr, /^error: standard input holds more than 1 MiB/);
  });
  it("exits 2 with usage help when an option is missing", () => {
    const r = busbar(["test-pattern", "--pattern", event]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /required option '--event <file>'/);
  });
});

describe("the installed command", () => {
  const root = join(import.meta.dirname, "..");

  it("runs through its first line, with the Node.js flags it names", () => {
    assert.ok(NODE_FLAGS.length > 0);
    // Executed as a program: env -S splits the flags; node refuses a flag it does not know (exit 9).
    const r = spawnSync(join(root, "bin", "busbar.js"), ["--help"], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: busbar/);
  });
  /** `busbar serve` of the installed command on a data directory of its own, with `env` added. */
  function serveInstalled(env: Record<string, string> = {}): { child: ChildProcess; dataDir: string } {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-cli-serve-"));
    const child = spawn(join(root, "bin", "busbar.js"), ["serve", "--port", "0", "--data-dir", dataDir], {
      cwd: root,
      env: { ...process.env, ...TEST_ROOT_ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { child, dataDir };
  }
  const exited = (child: ChildProcess): Promise<number | string | null> =>
    new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));

  it("drains and exits 0 at a SIGTERM that comes while it loads", async () => {
    const { child, dataDir } = serveInstalled();
    try {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.stderr?.resume();
      // Once the command listens for stop signals (early-signals.ts, the first thing it does), before
      // its modules are loaded (a signal before that ends the process with 143). Node.js catches
      // SIGINT and SIGTERM from its own start, not SIGHUP: SIGHUP caught (bit 0 of SigCgt in
      // /proc/<pid>/status) tells that listenEarly ran. Loading the modules then takes ~100–500 ms
      // of the main thread, depending on the host's phase; the status is read every millisecond.
      // (Judging by the CPU time the main thread had used failed on a fast phase, which had loaded
      // and listened by then.)
      const hupCaught = (): boolean => {
        const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1];
        return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
      };
      while (!hupCaught()) await new Promise((resolve) => setTimeout(resolve, 1));
      assert.doesNotMatch(out, /busbar listening/, "the signal is to come while it loads");
      child.kill("SIGTERM");
      assert.equal(await exited(child), 0);
      assert.match(out, /"signal":"SIGTERM".*"msg":"stopping"/);
    } finally {
      child.kill("SIGKILL");
      removeDataDir(dataDir);
    }
  });
  it("exits 0 at SIGTERM after its standard output's reader went away", async () => {
    const { child, dataDir } = serveInstalled();
    try {
      // Its first line (a log line once it listens), then the reader goes; it logs on.
      await once(child.stdout as Readable, "data");
      child.stdout?.destroy();
      child.stderr?.resume();
      child.kill("SIGTERM");
      assert.equal(await exited(child), 0);
    } finally {
      // A server left running would keep the test process up.
      child.kill("SIGKILL");
      removeDataDir(dataDir);
    }
  });
  it("prints its version", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const r = runBusbar(["--version"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });
  it("is what npm start runs, with the same flags", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      scripts: { start: string };
    };
    assert.equal(pkg.scripts.start, `node ${NODE_FLAGS.join(" ")} bin/busbar.js serve`);
  });
});
