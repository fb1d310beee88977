/**
 * Ways a node can run besides the default: accept-only (BUSBAR_DELIVERY=off), whose deliveries wait
 * in the store until a start with delivery on; HTTP served on a front thread (BUSBAR_HTTP_THREADS=1)
 * instead of the main thread; SQLite on the other thread than the default (BUSBAR_STORE_THREAD).
 * Bad values refuse to start.
 */
import { randomBytes } from "node:crypto";
import { createServer, get as httpGet, type IncomingHttpHeaders } from "node:http";
import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateEventBusCommand,
  ListEventBusesCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import {
  createQueue,
  eventBridgeClient,
  metric,
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  fillDisk,
  runBusbar,
  signedHeaders,
  tmpfsFor,
  unmountTmpfs,
} from "./support/index.js";

describe("BUSBAR_DELIVERY=off", () => {
  it("accepts events, invokes no target, and delivers them after a start with delivery on", async () => {
    let server = await startBusbar({ env: { BUSBAR_DELIVERY: "off" } });
    const dataDir = server.dataDir;
    try {
      let events = eventBridgeClient(server.url);
      let sqs = sqsClient(server.url);
      const queueUrl = await createQueue(sqs, "accept-only");
      await events.send(
        new PutRuleCommand({ Name: "to-queue", EventPattern: JSON.stringify({ source: ["modes.test"] }) }),
      );
      await events.send(
        new PutTargetsCommand({
          Rule: "to-queue",
          Targets: [{ Id: "q", Arn: "arn:aws:sqs:us-east-1:000000000000:accept-only" }],
        }),
      );
      const put = await events.send(
        new PutEventsCommand({
          Entries: Array.from({ length: 5 }, (_, i) => ({
            Source: "modes.test",
            DetailType: "t",
            Detail: JSON.stringify({ i }),
          })),
        }),
      );
      assert.equal(put.FailedEntryCount, 0);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages"],
        }),
      );
      assert.equal(attrs.Attributes?.ApproximateNumberOfMessages, "0", "nothing is delivered");
      assert.equal(await metric(server.url, "Invocations"), 0);
      // Accepted and matched are counted all the same: they describe the events, not their delivery.
      assert.equal(await metric(server.url, "Events"), 5);
      assert.equal(await metric(server.url, "MatchedEvents"), 5);
      assert.equal(await metric(server.url, "TriggeredRules"), 5);
      assert.match(server.output(), /BUSBAR_DELIVERY=off/);
      events.destroy();
      sqs.destroy();
      assert.equal(await server.stop(), 0);

      server = await startBusbar({ dataDir });
      events = eventBridgeClient(server.url);
      sqs = sqsClient(server.url);
      const ids = new Set<string>();
      const deadline = Date.now() + 10_000;
      while (ids.size < 5 && Date.now() < deadline) {
        const r = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const m of r.Messages ?? []) ids.add((JSON.parse(m.Body ?? "{}") as { id: string }).id);
      }
      const eventIds = (put.Entries ?? []).map((e) => e.EventId);
      assert.deepEqual([...ids].sort(), [...eventIds].sort());
      events.destroy();
      sqs.destroy();
    } finally {
      await server.stop();
      removeDataDir(dataDir);
    }
  });
});

describe("SIGTERM with a long poll waiting", () => {
  for (const env of [{}, { BUSBAR_HTTP_THREADS: "1" }, { BUSBAR_STORE_THREAD: "main" }]) {
    it(`answers it before the connection closes (${JSON.stringify(env)})`, async () => {
      const server = await startBusbar({ env });
      try {
        const sqs = sqsClient(server.url);
        const queueUrl = await createQueue(sqs, "stopping");
        const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }));
        // The poll is waiting once the server has it; a receive wakes no sooner than 100 ms here.
        await new Promise((resolve) => setTimeout(resolve, 500));
        const stopped = server.stop();
        const r = await poll; // an empty reply, not a connection reset
        assert.equal(r.Messages?.length ?? 0, 0);
        assert.equal(await stopped, 0);
        sqs.destroy();
      } finally {
        await server.stop();
        removeDataDir(server.dataDir);
      }
    });
  }
});

describe("a long poll whose client went away", () => {
  for (const env of [{}, { BUSBAR_HTTP_THREADS: "1" }]) {
    it(`takes no message: the next one goes to a client still there (${JSON.stringify(env)})`, async () => {
      const server = await startBusbar({ env });
      try {
        const sqs = sqsClient(server.url);
        const queueUrl = await createQueue(sqs, "gone");
        // Three polls whose clients give up, then one that stays.
        const gone = Array.from({ length: 3 }, () => {
          const controller = new AbortController();
          const poll = sqs
            .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }), {
              abortSignal: controller.signal,
            })
            .then(
              () => "answered",
              (e: Error) => e.name,
            );
          return { controller, poll };
        });
        await new Promise((resolve) => setTimeout(resolve, 500));
        for (const g of gone) g.controller.abort();
        assert.deepEqual(await Promise.all(gone.map((g) => g.poll)), [
          "AbortError",
          "AbortError",
          "AbortError",
        ]);
        await new Promise((resolve) => setTimeout(resolve, 300)); // the server sees the connections close
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "for the one still here" }));
        const started = Date.now();
        const got = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            WaitTimeSeconds: 5,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
        );
        assert.equal(got.Messages?.[0]?.Body, "for the one still here");
        assert.equal(got.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "1", "nobody took it before");
        assert.ok(Date.now() - started < 2_000, `received after ${Date.now() - started} ms`);
        sqs.destroy();
      } finally {
        await server.stop();
        removeDataDir(server.dataDir);
      }
    });
  }
});

for (const [name, value, logged] of [
  ["BUSBAR_HTTP_THREADS", "1", /"httpThreads":1/],
  ["BUSBAR_STORE_THREAD", "main", /"storeThread":"main"/],
] as const)
  describe(`${name}=${value}`, () => {
    it("serves both APIs, signatures and errors", async () => {
      const server = await startBusbar({ env: { [name]: value } });
      try {
        assert.match(server.output(), logged);
        const events = eventBridgeClient(server.url);
        const sqs = sqsClient(server.url);
        const put = await events.send(
          new PutEventsCommand({ Entries: [{ Source: "modes.test", DetailType: "t", Detail: "{}" }] }),
        );
        assert.equal(put.FailedEntryCount, 0);
        const queueUrl = await createQueue(sqs, "main-thread");
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "hello" }));
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
        assert.equal(got.Messages?.[0]?.Body, "hello");
        const bad = eventBridgeClient(server.url, {
          ...TEST_ROOT,
          secretAccessKey: "wrong-secret-wrong-secret",
        });
        await assert.rejects(
          bad.send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "t", Detail: "{}" }] })),
          { name: "InvalidSignatureException" },
        );
        // Input nested absurdly deep (JSON.parse takes it; a copy between threads would not): a clear
        // refusal in each API's error shape, and the server goes on. A large body is refused before
        // it is parsed (a 4 MB one took JSON.parse seconds of the thread that serves everyone).
        for (const depth of [5_000, 100_000, 1_900_000]) {
          const nest = (inner: string) => "[".repeat(depth) + inner + "]".repeat(depth);
          for (const [target, body, error] of [
            [
              "AWSEvents.PutEvents",
              `{"Entries":${nest("")}}`,
              /SerializationException|No entry has all of Source, DetailType and Detail/,
            ],
            [
              "AmazonSQS.SendMessage",
              `{"QueueUrl":${nest("")},"MessageBody":"x"}`,
              /MalformedInput|InvalidParameterValue|QueueUrl/,
            ],
          ] as const) {
            const headers = signedHeaders(new URL(server.url).host, target, body, TEST_ROOT);
            const r = await fetch(`${server.url}/`, {
              method: "POST",
              headers,
              body,
              signal: AbortSignal.timeout(10_000),
            });
            // PutEvents on the main thread reads the Entries and finds none with Source, DetailType
            // and Detail, which fails the whole request.
            assert.equal(r.status, 400, `${target} at depth ${depth}`);
            const text = await r.text();
            assert.match(text, error, `${target} at depth ${depth}`);
            if (depth > 32_768) assert.match(text, /more than 64 levels deep/, `${target} at depth ${depth}`);
          }
        }
        const ready = await fetch(`${server.url}/readyz`);
        assert.equal(ready.status, 200);
        assert.ok((await metric(server.url, "Events")) >= 1);
        events.destroy();
        sqs.destroy();
        bad.destroy();
      } finally {
        assert.equal(await server.stop(), 0);
        removeDataDir(server.dataDir);
      }
    });
  });

describe("a full disk under delivery", () => {
  it("makes the node unready while delivery cannot record its outcomes, with no request failing", async (t) => {
    const disk = tmpfsFor(t, 8);
    if (disk === undefined) return;
    let up = false;
    const got = new Set<string>();
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (up) got.add((JSON.parse(body) as { id: string }).id);
        res.writeHead(up ? 200 : 503).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const server = await startBusbar({
      dataDir: join(disk, "data"),
      env: {
        BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
        BUSBAR_RETRY_BASE_MS: "200",
        BUSBAR_RETRY_MAX_MS: "400",
        // No floor of free space: the store's own failures on a disk full to the last byte are tested.
        BUSBAR_MIN_FREE_DISK_BYTES: "0",
      },
    });
    const eb = eventBridgeClient(server.url);
    const filler = join(disk, "filler");
    try {
      const ready = async (): Promise<number> => (await fetch(`${server.url}/readyz`)).status;
      await eb.send(new PutRuleCommand({ Name: "to-hook", EventPattern: '{"source":["disk"]}' }));
      await eb.send(new PutTargetsCommand({ Rule: "to-hook", Targets: [{ Id: "hook", Arn: url }] }));
      const put = await eb.send(
        new PutEventsCommand({
          Entries: Array.from({ length: 10 }, () => ({ Source: "disk", DetailType: "d", Detail: "{}" })),
        }),
      );
      const ids = (put.Entries ?? []).map((e) => e.EventId as string);
      assert.equal(ids.length, 10);
      // The disk fills; from now on no request is made but /readyz.
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (;;) appendFileSync(filler, chunk);
      } catch {
        // ENOSPC: full
      }
      up = true; // the target answers: delivery now has outcomes to record, which the store cannot take
      let status = await ready();
      for (const end = Date.now() + 15_000; status === 200 && Date.now() < end;) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = await ready();
      }
      assert.equal(status, 503, "not ready while delivery's writes fail");
      assert.match(server.output(), /recording delivery outcomes failed|scan of pending deliveries failed/);
      rmSync(filler);
      for (const end = Date.now() + 20_000; status !== 200 && Date.now() < end;) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        status = await ready();
      }
      assert.equal(status, 200, "ready again once the writes succeed");
      assert.deepEqual([...got].sort(), ids.toSorted(), "every accepted event delivered");
    } finally {
      eb.destroy();
      await server.kill();
      receiver.closeAllConnections();
      receiver.close();
      unmountTmpfs(disk);
    }
  });
});

describe("a low limit of open files", () => {
  it("keeps delivery's invocations in flight within half of it, and says so", async (t) => {
    if (spawnSync("prlimit", ["--version"]).status !== 0) {
      if (process.env.CI === "true") throw new Error("prlimit (util-linux) is missing");
      t.skip("*** prlimit (util-linux) is missing ***");
      return;
    }
    const server = await startBusbar({ wrapper: ["prlimit", "--nofile=128:128"] });
    try {
      const line = server
        .output()
        .split("\n")
        .find((l) => l.includes("open-file limit"));
      assert.ok(line !== undefined, server.output());
      const logged = JSON.parse(line) as Record<string, unknown>;
      assert.equal(logged.level, 40);
      assert.equal(logged.openFileLimit, 128);
      assert.equal(logged.deliveryConcurrency, 64);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
      removeDataDir(server.dataDir);
    }
  });
});

/** A GET with exactly these headers (fetch adds an Accept-Encoding of its own), its body as sent. */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    }).on("error", reject);
  });
}

describe("BUSBAR_METRICS_TOKEN", () => {
  for (const threads of ["0", "1"])
    it(`keeps /metrics to scrapers with the bearer token (BUSBAR_HTTP_THREADS=${threads})`, async () => {
      const token = "scrape-token-0123456789";
      const server = await startBusbar({
        env: { BUSBAR_METRICS_TOKEN: token, BUSBAR_HTTP_THREADS: threads },
      });
      try {
        for (const authorization of [
          undefined,
          "Bearer wrong-token-0123456789",
          `Basic ${token}`,
          `Bearer ${token}x`,
        ]) {
          const r = await fetch(`${server.url}/metrics`, {
            ...(authorization !== undefined && { headers: { authorization } }),
          });
          assert.equal(r.status, 401, String(authorization));
          // Basic credentials are an access key's, for its account's series: these are not one's.
          assert.match(
            r.headers.get("www-authenticate") ?? "",
            authorization?.startsWith("Basic") === true ? /^Basic realm=/ : /^Bearer/,
          );
          assert.doesNotMatch(await r.text(), /busbar_/);
        }
        for (const scheme of ["Bearer", "bearer"]) {
          const ok = await fetch(`${server.url}/metrics`, {
            headers: { authorization: `${scheme} ${token}` },
          });
          assert.equal(ok.status, 200);
          assert.match(await ok.text(), /^# HELP /m);
        }
        // Compressed for a scraper that takes gzip (as Prometheus does), else not.
        for (const encoding of ["gzip", "identity", undefined]) {
          const r = await rawGet(`${server.url}/metrics`, {
            authorization: `Bearer ${token}`,
            ...(encoding !== undefined && { "accept-encoding": encoding }),
          });
          assert.equal(r.status, 200);
          const zipped = r.headers["content-encoding"] === "gzip";
          assert.equal(zipped, encoding === "gzip", String(encoding));
          assert.match((zipped ? gunzipSync(r.body) : r.body).toString(), /^# TYPE Invocations counter$/m);
        }
        assert.equal((await fetch(`${server.url}/healthz`)).status, 200, "the probes stay open");
      } finally {
        assert.equal(await server.stop(), 0);
        removeDataDir(server.dataDir);
      }
    });
});

describe("BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT", () => {
  it("gives an account's first targets series of their own and sums the rest under rule and target *", async () => {
    const got: string[] = [];
    const receiver = createServer((req, res) => {
      got.push(req.url ?? "");
      req.resume().on("end", () => res.writeHead(200).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const server = await startBusbar({
      env: { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8", BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT: "2" },
    });
    const eb = eventBridgeClient(server.url);
    try {
      await eb.send(new PutRuleCommand({ Name: "many", EventPattern: '{"source":["budget"]}' }));
      const ids = ["a", "b", "c", "d"];
      await eb.send(
        new PutTargetsCommand({ Rule: "many", Targets: ids.map((id) => ({ Id: id, Arn: `${url}/${id}` })) }),
      );
      await eb.send(new PutEventsCommand({ Entries: [{ Source: "budget", DetailType: "d", Detail: "{}" }] }));
      for (const end = Date.now() + 10_000; got.length < ids.length && Date.now() < end;)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(got.length, ids.length, "every target invoked");
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const invocations = text
        .split("\n")
        .filter((l) => l.startsWith("Invocations{"))
        .map((l) => /rule="([^"]*)",target="([^"]*)"} (\d+)/.exec(l)?.slice(1).join(" "));
      assert.equal(invocations.length, 3, text);
      assert.ok(invocations.includes("* * 2"), invocations.join("; "));
      assert.equal(invocations.filter((i) => /^many [abcd] 1$/.test(i ?? "")).length, 2);
      assert.equal(await metric(server.url, "Invocations", { rule: "many" }), 2);
    } finally {
      eb.destroy();
      assert.equal(await server.stop(), 0);
      removeDataDir(server.dataDir);
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});

describe("bad values", () => {
  for (const [name, value, message] of [
    ["BUSBAR_DELIVERY", "paused", /BUSBAR_DELIVERY must be "on" or "off"/],
    ["BUSBAR_HTTP_THREADS", "2", /BUSBAR_HTTP_THREADS must be an integer from 0 to 1/],
    ["BUSBAR_HTTP_THREADS", "many", /BUSBAR_HTTP_THREADS must be an integer/],
    ["BUSBAR_STORE_THREAD", "both", /BUSBAR_STORE_THREAD must be "main" or "worker"/],
    ["BUSBAR_LOG_LEVEL", "loud", /BUSBAR_LOG_LEVEL must be one of/],
    ["BUSBAR_ALLOW_TARGET_NETWORKS", "notacidr", /is not a CIDR/],
    ["BUSBAR_METRICS_TOKEN", "short", /BUSBAR_METRICS_TOKEN must be 16 to 256 characters/],
    ["BUSBAR_QUEUE_MAX_IN_FLIGHT", "0", /BUSBAR_QUEUE_MAX_IN_FLIGHT must be an integer from 1 to 100000000/],
    [
      "BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT",
      "-1",
      /BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT must be an integer from 0 to 1000000/,
    ],
    [
      "BUSBAR_MIN_FREE_DISK_BYTES",
      "256M",
      /BUSBAR_MIN_FREE_DISK_BYTES must be an integer from 0 to 9007199254740991/,
    ],
    [
      "BUSBAR_PUT_EVENTS_PER_SECOND",
      "-5",
      /BUSBAR_PUT_EVENTS_PER_SECOND must be an integer from 0 to 100000000/,
    ],
  ] as const) {
    it(`${name}=${value} refuses to start`, () => {
      const r = runBusbar(["serve", "--port", "0", "--data-dir", "/nonexistent/x"], {
        env: { ...process.env, [name]: value },
        timeoutMs: 20_000,
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, message);
    });
  }
  it("a start that fails names why in one line, without a stack, and exits 1", async () => {
    const taken = await startBusbar();
    try {
      const port = new URL(taken.url).port;
      const dir = mkdtempSync(join(tmpdir(), "busbar-test-"));
      for (const [args, env, message] of [
        [["--port", port, "--data-dir", join(dir, "a")], {}, /address already in use/],
        // Another server's data directory: refused before anything there is read or written.
        [["--port", "0", "--data-dir", taken.dataDir], {}, /is in use by another busbar serve/],
        [["--port", "0", "--data-dir", "/etc/passwd/x"], {}, /not a directory/],
        [
          ["--port", "0", "--data-dir", "/etc/passwd"],
          {},
          /the data directory \/etc\/passwd is a file, not a directory/,
        ],
        // mkdir answers ENOENT under /proc, which exists: node's recursive mkdir looped there for ever.
        [
          ["--port", "0", "--data-dir", "/proc/busbar-test/x"],
          {},
          /no such file or directory, mkdir '\/proc\/busbar-test'/,
        ],
      ] as const) {
        const r = runBusbar(["serve", ...args], { env: { ...process.env, ...env }, timeoutMs: 20_000 });
        assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /^error: Busbar could not start: /m);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.doesNotMatch(r.stdout + r.stderr, /root credentials|BUSBAR_ROOT_SECRET_ACCESS_KEY=/);
      }
      // A port it could not listen on is refused before the data directory is made.
      assert.equal(
        existsSync(join(dir, "a")),
        false,
        "no data directory left by a start that could not listen",
      );
      removeDataDir(dir);
      // The lock writes nothing beside its file (a busbar.lock-journal stayed after a SIGKILL).
      assert.equal(existsSync(join(taken.dataDir, "busbar.lock-journal")), false);
      // The server that holds the directory is unharmed; once it stops (or dies), another may start.
      assert.equal((await fetch(`${taken.url}/readyz`)).status, 200);
      assert.equal(await taken.stop(), 0);
      const next = await startBusbar({ dataDir: taken.dataDir });
      await next.kill();
      const after = await startBusbar({ dataDir: taken.dataDir });
      assert.equal(await after.stop(), 0);
    } finally {
      await taken.stop();
      removeDataDir(taken.dataDir);
    }
  });

  it("stops, and exits 1, when its data directory is deleted under it", async () => {
    const server = await startBusbar();
    try {
      const exited = new Promise<number | null>((resolve) => server.child.once("exit", resolve));
      removeDataDir(server.dataDir);
      // SQLite would go on writing to the unlinked file: every write acknowledged would be lost.
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise((resolve) => (timer = setTimeout(() => resolve("still running"), 10_000))),
      ]);
      clearTimeout(timer);
      assert.equal(code, 1, server.output());
      assert.match(server.output(), /was removed or replaced while the server ran; stopping/);
    } finally {
      await server.kill();
    }
  });

  it("starts on a disk full to its last byte after a clean stop in its reserve's room, and makes the reserve again once there is room", async (t) => {
    const disk = tmpfsFor(t, 24);
    if (disk === undefined) return;
    let server: Awaited<ReturnType<typeof startBusbar>> | undefined;
    try {
      const dataDir = join(disk, "data");
      const reserve = join(dataDir, "disk-reserve");
      const noFloor = { BUSBAR_MIN_FREE_DISK_BYTES: "0" };
      server = await startBusbar({ dataDir, env: noFloor });
      assert.equal(
        statSync(reserve, { throwIfNoEntry: false })?.size,
        1024 * 1024,
        "the first start made it",
      );
      assert.match(server.output(), /"msg":"made the data directory's reserve \(disk-reserve\)/);
      await eventBridgeClient(server.url).send(new CreateEventBusCommand({ Name: "kept-on-a-full-disk" }));
      assert.equal(await server.stop(), 0);
      // The clean stop removed the write-ahead log and its index, which SQLite must create to open.
      fillDisk(disk);
      server = await startBusbar({ dataDir, env: noFloor });
      assert.match(
        server.output(),
        /"msg":"the data directory's disk is full: removed Busbar's reserve \(disk-reserve\) to open the database/,
      );
      assert.equal(existsSync(reserve), false);
      // It serves what needs no room: reads, and its health.
      const buses = await eventBridgeClient(server.url).send(new ListEventBusesCommand({}));
      assert.deepEqual(
        (buses.EventBuses ?? []).map((b) => b.Name),
        ["default", "kept-on-a-full-disk"],
      );
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.doesNotMatch(server.output(), /made the data directory's reserve/, "none made on a full disk");
      assert.equal(await server.stop(), 0);
      rmSync(join(disk, "filler"));
      server = await startBusbar({ dataDir, env: noFloor });
      assert.equal(statSync(reserve, { throwIfNoEntry: false })?.size, 1024 * 1024, "made again with room");
      assert.equal(await server.stop(), 0);
    } finally {
      await server?.kill();
      unmountTmpfs(disk);
    }
  });

  it("refuses to start on a disk full to its last byte after a clean stop with no reserve (a disk too small for one), saying the disk is full", async (t) => {
    const disk = tmpfsFor(t, 8);
    if (disk === undefined) return;
    try {
      const dataDir = join(disk, "data");
      const noFloor = { BUSBAR_MIN_FREE_DISK_BYTES: "0" };
      const first = await startBusbar({ dataDir, env: noFloor });
      assert.equal(await first.stop(), 0);
      assert.equal(
        existsSync(join(dataDir, "disk-reserve")),
        false,
        "an 8 MiB disk has no room to spare for a reserve",
      );
      // The clean stop removed the write-ahead log and its index, which SQLite must create to open.
      fillDisk(disk);
      const refused = runBusbar(["serve", "--port", "0", "--data-dir", dataDir], {
        env: { ...process.env, ...noFloor },
        timeoutMs: 20_000,
      });
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(
        refused.stderr,
        /cannot open \S+ as a Busbar database: .* \(the disk of \S+ is full: \d+ bytes free, .*free some space and start again\)/,
      );
    } finally {
      unmountTmpfs(disk);
    }
  });

  it("refuses to start when secrets.key is gone from a data directory whose secrets it sealed", async () => {
    const first = await startBusbar();
    assert.equal(await first.stop(), 0);
    rmSync(join(first.dataDir, "secrets.key"));
    try {
      // A new key would leave every connection's and target's secrets unreadable: events accepted, then dropped.
      const refused = runBusbar(["serve", "--port", "0", "--data-dir", first.dataDir], { timeoutMs: 20_000 });
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(
        refused.stderr,
        /holds sealed secrets, and their key is neither in \S*secrets\.key \(missing\) nor in BUSBAR_SECRETS_KEY \(unset\)/,
      );
      assert.equal(existsSync(join(first.dataDir, "secrets.key")), false, "no new key was made");
      // Starting over on purpose: a new key given, the server starts and says the old secrets will not open.
      const fresh = await startBusbar({
        dataDir: first.dataDir,
        env: { BUSBAR_SECRETS_KEY: randomBytes(32).toString("base64") },
      });
      assert.match(
        fresh.output(),
        /the secrets key is not the one this data directory's secrets were sealed with/,
      );
      assert.equal(await fresh.stop(), 0);
    } finally {
      removeDataDir(first.dataDir);
    }
  });

  for (const threads of ["0", "1"])
    it(`reports itself not ready while its store fails (a full disk), and ready again once it works (BUSBAR_HTTP_THREADS=${threads})`, async (t) => {
      const disk = tmpfsFor(t, 8);
      if (disk === undefined) return;
      const server = await startBusbar({
        dataDir: join(disk, "data"),
        // No floor of free space: the store's own failures on a disk full to the last byte are tested.
        env: { BUSBAR_HTTP_THREADS: threads, BUSBAR_MIN_FREE_DISK_BYTES: "0" },
      });
      const eb = eventBridgeClient(server.url);
      const sqs = sqsClient(server.url);
      const { QueueUrl } = (await sqs.send(new CreateQueueCommand({ QueueName: "on-a-full-disk" }))) as {
        QueueUrl: string;
      };
      const filler = join(disk, "filler");
      try {
        const ready = async (): Promise<number> => (await fetch(`${server.url}/readyz`)).status;
        assert.equal(await ready(), 200);
        // Fill the disk, then put large events until the store fails one.
        const chunk = Buffer.alloc(256 * 1024);
        try {
          for (;;) appendFileSync(filler, chunk);
        } catch {
          // ENOSPC: full
        }
        const big = JSON.stringify({ pad: "x".repeat(200_000) });
        let failed: unknown;
        for (let i = 0; i < 50 && failed === undefined; i++) {
          failed = await eb
            .send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: big }] }))
            .then(
              () => undefined,
              (e: unknown) => e,
            );
        }
        // A disk full to its last byte gets the answer the floor of free space gives (503, retried).
        assert.equal((failed as { name?: string } | undefined)?.name, "ServiceUnavailableException");
        assert.equal((failed as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 503);
        assert.match(
          String((failed as Error).message),
          /^The store failed: SQLITE_FULL \(its disk is full\)/,
        );
        // SQS says the same, in its own shape.
        let refused: unknown;
        for (let i = 0; i < 50 && refused === undefined; i++) {
          refused = await sqs
            .send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(200_000) }))
            .then(
              () => undefined,
              (e: unknown) => e,
            );
        }
        assert.equal((refused as { name?: string } | undefined)?.name, "ServiceUnavailable");
        assert.match(
          String((refused as Error).message),
          /^The store failed: SQLITE_FULL \(its disk is full\)/,
        );
        // Failing on and on, they are logged once (a minute), not once each, by either thread.
        for (let i = 0; i < 20; i++) {
          await eb
            .send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: big }] }))
            .catch(() => undefined);
          await sqs
            .send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(200_000) }))
            .catch(() => undefined);
        }
        const lines = server.output().match(/"msg":"(internal error|the store failed)[^"]*"/g) ?? [];
        assert.deepEqual(
          lines,
          [
            '"msg":"the store failed: the requests that need it fail until it works again (logged at most once a minute)"',
          ],
          "one line for the store's failures",
        );
        assert.equal(await ready(), 503, "not ready while the store fails");
        rmSync(filler);
        const end = Date.now() + 15_000;
        let status = 503;
        while (status !== 200 && Date.now() < end) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          status = await ready();
        }
        assert.equal(status, 200, "ready again once calls have stopped failing");
        const put = await eb.send(
          new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] }),
        );
        assert.equal(put.FailedEntryCount, 0);
        assert.match(server.output(), /"msg":"the store failed: /);
        // Told to have stopped, with how many there were (1 + 1 + 20 + 20 at least; the SDK retries).
        const stopped = /"failures":(\d+),"msg":"the store's failures have stopped/.exec(server.output());
        assert.ok(stopped !== null, "the end of the store's failures is logged");
        assert.ok(Number(stopped[1]) >= 42, stopped[0]);
      } finally {
        eb.destroy();
        sqs.destroy();
        await server.kill();
        unmountTmpfs(disk);
      }
    });
});
