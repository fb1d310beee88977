/**
 * `busbar accounts|keys|targets --endpoint URL` against servers that are not Busbar, or not as the
 * caller's shell expects: a reply of another shape, a server that never answers, a caller whose
 * AWS_REGION is set for AWS. Each command runs as a real process; the odd servers are real HTTP
 * servers on loopback, and the Busbar one a real `busbar serve`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  BUSBAR_ENTRY,
  removeDataDir,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
  type CliRun,
} from "./support/index.js";

const root = join(import.meta.dirname, "..");

/** The environment of the runs: the test root key, no endpoint or region of the caller's own. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const {
    BUSBAR_ENDPOINT: _e,
    BUSBAR_REGION: _r,
    AWS_REGION: _a,
    AWS_DEFAULT_REGION: _d,
    ...env
  } = process.env;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: TEST_ROOT.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_ROOT.secretAccessKey,
    ...extra,
  };
}

/**
 * Runs `busbar <args>` without blocking this process (whose servers must answer meanwhile); kills
 * it after `timeoutMs` (status null).
 */
function busbar(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  timeoutMs = 15_000,
): Promise<CliRun> {
  const child = spawn(process.execPath, [...BUSBAR_ENTRY, ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}

/** An HTTP server on loopback that hands every request, once read, to `answer`. */
async function fakeServer(
  answer: (res: ServerResponse, target: string) => void,
): Promise<Server & { url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(res, String(req.headers["x-amz-target"])));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(server, { url: `http://127.0.0.1:${port}` });
}

const close = (server: Server) => {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
};

/** One line on standard error, no stack trace. */
function oneLine(r: CliRun): void {
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe("a server that is not Busbar", () => {
  it("is not believed when it answers 200 with JSON that is not the operation's reply", async () => {
    // 200 application/json `{}` or `null`: a web app on the port, a proxy.
    let body = "{}";
    const plain = await fakeServer((res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(body),
    );
    // The right content type, and a reply without the operation's members.
    const awsLike = await fakeServer((res, target) =>
      res
        .writeHead(200, { "content-type": "application/x-amz-json-1.1" })
        .end(target.endsWith(".ListAccounts") ? '{"Accounts":[{"AccountId":1}]}' : '{"AccountId":"123"}'),
    );
    try {
      const cases = [
        [["accounts", "create", "--name", "x"], plain.url, /content-type "application\/json"/],
        [["keys", "delete", "BBXXXXXXXXXXXXXXXXXX"], plain.url, /DeleteAccessKey as a Busbar server/],
        [["accounts", "create"], awsLike.url, /\(no Name\)/],
        [["accounts", "list"], awsLike.url, /\(Accounts\[0\]\.AccountId is not a string\)/],
      ] as const;
      // Side by side: each run is a process of its own.
      const runs = await Promise.all(cases.map(([args, url]) => busbar([...args, "--endpoint", url])));
      cases.forEach(([args, url, message], i) => {
        const r = runs[i] as CliRun;
        assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, "", "nothing reported as done");
        assert.match(r.stderr, new RegExp(`^error: ${url} did not answer \\w+ as a Busbar server`));
        assert.match(r.stderr, message);
        oneLine(r);
      });
      body = "null";
      const r = await busbar(["accounts", "list", "--endpoint", plain.url]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /a body that is not a JSON object/);
      oneLine(r);
    } finally {
      await close(plain);
      await close(awsLike);
    }
  });

  it("is not followed through pages that come back to a NextToken it gave before", async () => {
    const looping = await fakeServer((res) =>
      res
        .writeHead(200, { "content-type": "application/x-amz-json-1.1" })
        .end('{"Accounts":[{"AccountId":"123456789012","Name":"a","CreatedAt":1}],"NextToken":"same"}'),
    );
    try {
      const r = await busbar(["accounts", "list", "--endpoint", looping.url]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /gave a NextToken it had given before/);
      oneLine(r);
    } finally {
      await close(looping);
    }
  });

  it("that answers plain HTTP to https:// is named so, in one line (exit 1)", async () => {
    const plain = await fakeServer((res) => res.writeHead(200).end("{}"));
    try {
      const tls = plain.url.replace("http://", "https://");
      const r = await busbar(["accounts", "list", "--endpoint", tls], cliEnv({}));
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim(), `error: cannot reach ${tls}: it did not answer in TLS (${plain.url}?)`);
    } finally {
      await close(plain);
    }
  });
  it("that never answers is given up after BUSBAR_ENDPOINT_TIMEOUT_MS, a failure (exit 1), not a refusal", async () => {
    const silent = await fakeServer(() => undefined);
    try {
      const started = Date.now();
      const timeout = cliEnv({ BUSBAR_ENDPOINT_TIMEOUT_MS: "500" });
      const [r, create] = await Promise.all([
        busbar(["accounts", "list", "--endpoint", silent.url], timeout, 10_000),
        busbar(["keys", "create", "--account", "000000000000", "--endpoint", silent.url], timeout, 10_000),
      ]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /did not answer ListAccounts within 0.5 s \(BUSBAR_ENDPOINT_TIMEOUT_MS\)$/m);
      oneLine(r);
      // A create that got no answer may have been done: the message says so, and how to find out.
      assert.equal(create.status, 1, create.stderr);
      assert.match(
        create.stderr,
        /did not answer CreateAccessKey within 0.5 s \(BUSBAR_ENDPOINT_TIMEOUT_MS\); the server may have made the key all the same .*busbar keys list/,
      );
      oneLine(create);
      assert.ok(Date.now() - started < 8000);
      const bad = await busbar(
        ["accounts", "list", "--endpoint", silent.url],
        cliEnv({ BUSBAR_ENDPOINT_TIMEOUT_MS: "1e3" }),
      );
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /BUSBAR_ENDPOINT_TIMEOUT_MS must be an integer from 1 to 3600000, got "1e3"/);
    } finally {
      await close(silent);
    }
  });
});

describe("bad options of the remote commands", () => {
  it("refuse a --previous-expires-in that is not decimal digits, before calling the server", async () => {
    // Nothing listens on port 9: a call would fail with "cannot reach".
    const hook = ["--endpoint", "http://127.0.0.1:9", "--rule", "r", "--target-id", "h"];
    // "" (an unset shell variable) was read as 0, retiring the previous secrets at once.
    const values = ["", "0x10", "1e2"];
    const runs = await Promise.all(
      values.map((value) =>
        busbar(["targets", "rotate-signing-secret", ...hook, "--previous-expires-in", value]),
      ),
    );
    values.forEach((value, i) => {
      const r = runs[i] as CliRun;
      assert.equal(r.status, 2, value);
      assert.match(
        r.stderr,
        new RegExp(`--previous-expires-in must be a whole number of seconds, got "${value}"`),
      );
    });
  });

  it("name BUSBAR_ENDPOINT, not --endpoint, when the variable is what is wrong", async () => {
    const r = await busbar(["accounts", "list"], cliEnv({ BUSBAR_ENDPOINT: "localhost-8380" }));
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^error: BUSBAR_ENDPOINT must be a URL such as http:\/\/127.0.0.1:8380, got "localhost-8380"/,
    );
  });
});

describe("the region remote calls are signed for", () => {
  let server: BusbarProcess;
  before(async () => {
    server = await startBusbar();
  });
  after(async () => {
    await server.stop();
    removeDataDir(server.dataDir);
  });

  it("is the server's (BUSBAR_REGION, else us-east-1), not the caller's AWS_REGION", async () => {
    const envs = [
      { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-1" },
      { AWS_REGION: "", AWS_DEFAULT_REGION: "" },
      { AWS_REGION: "eu-west-1", BUSBAR_REGION: "us-east-1" },
    ];
    const runs = await Promise.all(
      envs.map((env) => busbar(["accounts", "list", "--endpoint", server.url], cliEnv(env))),
    );
    envs.forEach((env, i) => assert.equal(runs[i]?.status, 0, `${JSON.stringify(env)}: ${runs[i]?.stderr}`));
  });

  it("is --region when given, which the server checks", async () => {
    const [r, bad] = await Promise.all([
      busbar(["accounts", "list", "--endpoint", server.url, "--region", "eu-west-1"]),
      busbar(["accounts", "list", "--endpoint", server.url, "--region", "mars"]),
    ]);
    assert.equal(r?.status, 2);
    assert.match(r.stderr, /InvalidSignatureException: Credential should be scoped to a valid region/);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--region is not a region name: "mars"/);
  });
});
