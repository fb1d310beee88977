/**
 * `busbar serve` settings: each is checked before anything is made in the data directory, and a bad
 * one is refused with exit code 2 and a line naming it (the flag or the environment variable it came
 * from); an empty variable counts as unset, an empty flag is refused. Run as real processes.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeDataDir, runBusbar, startBusbar } from "./support/index.js";

const dir = mkdtempSync(join(tmpdir(), "busbar-cli-settings-"));
after(() => removeDataDir(dir));

/** The environment without the BUSBAR_* settings of the shell that runs the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BUSBAR_")));
}

describe("a bad setting", () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    [
      "BUSBAR_ALLOW_TARGET_NETWORKS",
      [],
      { BUSBAR_ALLOW_TARGET_NETWORKS: "garbage" },
      /^error: BUSBAR_ALLOW_TARGET_NETWORKS: "garbage" is not a CIDR/,
    ],
    [
      "BUSBAR_SECRETS_KEY",
      [],
      { BUSBAR_SECRETS_KEY: "short" },
      /^error: BUSBAR_SECRETS_KEY must hold 32 bytes/,
    ],
    // Read by authentication, unchecked, before: "abc" kept keys for NaN ms.
    [
      "BUSBAR_KEY_CACHE_MS",
      [],
      { BUSBAR_KEY_CACHE_MS: "abc" },
      /^error: BUSBAR_KEY_CACHE_MS must be an integer from 0 to 3600000, got "abc"/,
    ],
    ["BUSBAR_LOG_LEVEL", [], { BUSBAR_LOG_LEVEL: "loud" }, /^error: BUSBAR_LOG_LEVEL must be one of/],
    // 0 is allowed: events kept only while a delivery of them is pending.
    [
      "BUSBAR_EVENT_RETENTION_HOURS",
      [],
      { BUSBAR_EVENT_RETENTION_HOURS: "-1" },
      /^error: BUSBAR_EVENT_RETENTION_HOURS must be an integer from 0 to 8760, got "-1"/,
    ],
    [
      "BUSBAR_TARGET_HOLD_AFTER_FAILURES",
      [],
      { BUSBAR_TARGET_HOLD_AFTER_FAILURES: "-1" },
      /^error: BUSBAR_TARGET_HOLD_AFTER_FAILURES must be an integer from 0 to 1000000, got "-1"/,
    ],
    [
      "BUSBAR_REQUEST_TIMEOUT_MS",
      [],
      { BUSBAR_REQUEST_TIMEOUT_MS: "10" },
      /^error: BUSBAR_REQUEST_TIMEOUT_MS must be an integer from 100 to 300000, got "10"/,
    ],
    [
      "BUSBAR_MAX_BYTES_IN_FLIGHT",
      [],
      { BUSBAR_MAX_BYTES_IN_FLIGHT: "1e9" },
      /^error: BUSBAR_MAX_BYTES_IN_FLIGHT must be an integer from 1024 to 1099511627776, got "1e9"/,
    ],
    [
      "a BUSBAR_MAX_BYTES_IN_FLIGHT below BUSBAR_MAX_BODY_BYTES",
      [],
      { BUSBAR_MAX_BYTES_IN_FLIGHT: "1048576" },
      /^error: BUSBAR_MAX_BYTES_IN_FLIGHT \(1048576\) must be at least BUSBAR_MAX_BODY_BYTES \(5242880\)/,
    ],
    [
      "--host",
      ["--host", "999.1.1.1"],
      {},
      /^error: --host must be an IP address or a host name, got "999.1.1.1"/,
    ],
    [
      "BUSBAR_HOST",
      [],
      { BUSBAR_HOST: "nosuchhost.invalid" },
      /^error: BUSBAR_HOST "nosuchhost.invalid" cannot be resolved to an address/,
    ],
    ["an empty --host", ["--host", ""], {}, /^error: --host must not be empty/],
    [
      "BUSBAR_PORT",
      [],
      { BUSBAR_PORT: "0x10" },
      /^error: BUSBAR_PORT must be an integer from 0 to 65535, got "0x10"/,
    ],
    ["--port", ["--port", " 80"], {}, /^error: --port must be an integer from 0 to 65535, got " 80"/],
    // EventBridge's quota goes up to 4,096 characters, PutRule's most.
    [
      "BUSBAR_MAX_PATTERN_LENGTH",
      [],
      { BUSBAR_MAX_PATTERN_LENGTH: "8192" },
      /^error: BUSBAR_MAX_PATTERN_LENGTH must be an integer from 1 to 4096, got "8192"/,
    ],
  ];
  for (const [name, args, env, message] of cases) {
    it(`${name} is refused with exit code 2 before the data directory is made`, () => {
      const dataDir = join(dir, name.replace(/\W/g, ""));
      const r = runBusbar(
        [
          "serve",
          "--data-dir",
          dataDir,
          ...(args.includes("--port") || "BUSBAR_PORT" in env ? [] : ["--port", "0"]),
          ...args,
        ],
        {
          env: { ...cleanEnv(), ...env },
          timeoutMs: 10_000,
        },
      );
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "", "no root credentials printed");
      assert.equal(existsSync(dataDir), false, "nothing made");
    });
  }
});

describe("an empty variable", () => {
  it("BUSBAR_HOST= counts as unset: the server listens on 127.0.0.1, not on every interface", async () => {
    const server = await startBusbar({ env: { BUSBAR_HOST: "" } });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      assert.equal(await server.stop(), 0);
      removeDataDir(server.dataDir);
    }
  });
});
