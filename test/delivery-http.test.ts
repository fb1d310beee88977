/**
 * HTTP delivery against real receivers on loopback: the network guard, the client's failure
 * classification (redirects, timeouts, resets, statuses, Retry-After), Standard Webhooks signatures
 * verified with the `standardwebhooks` package, CloudEvents parsed with the `cloudevents` SDK, and
 * API destinations (Basic, API key, OAuth with a real token endpoint, parameters, rate limit,
 * keep-alive).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type dns from "node:dns";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { HTTP } from "cloudevents";
import {
  checkWebhookUrl,
  createApiDestinationInvoker,
  createGuardedLookup,
  createWebhookInvoker,
  errorForResponse,
  HttpClient,
  isApiDestinationArn,
  isRetryableStatus,
  parseAllowedNetworks,
  parseRetryAfter,
  refusalReason,
  type ResolvedApiDestination,
} from "../src/delivery/http/index.js";
import type { ApiDestination, Connection, ConnectionAuthorizationType } from "../src/store/index.js";

type Invoker = ReturnType<typeof createWebhookInvoker>;
type Invocation = Parameters<Invoker["invoke"]>[0];

const LOOPBACK = parseAllowedNetworks("127.0.0.0/8,::1/128");
const SECRET_A = `whsec_${Buffer.from("secret-number-one-0123456789abcdef").toString("base64")}`;
const SECRET_B = `whsec_${Buffer.from("secret-number-two-0123456789abcdef").toString("base64")}`;

// ---------------------------------------------------------------------------------------------
// Receivers

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

interface Receiver {
  readonly origin: string;
  readonly port: number;
  readonly requests: Received[];
  /** TCP connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

type Handler = (req: Received, res: http.ServerResponse, raw: http.IncomingMessage) => void;

const receivers: Receiver[] = [];
const invokers: Invoker[] = [];

after(async () => {
  await Promise.all(invokers.map((invoker) => invoker.close()));
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

async function receiver(handler: Handler = (_req, res) => res.end()): Promise<Receiver> {
  const requests: Received[] = [];
  const server = http.createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on("data", (chunk: Buffer) => chunks.push(chunk));
    raw.on("end", () => {
      const received = {
        method: raw.method ?? "",
        url: raw.url ?? "",
        headers: raw.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(received);
      handler(received, res, raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const result: Receiver = {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on("connection", () => result.connections++);
  receivers.push(result);
  return result;
}

function webhookInvoker(options: Partial<Parameters<typeof createWebhookInvoker>[0]> = {}): Invoker {
  const invoker = createWebhookInvoker({
    allowedNetworks: LOOPBACK,
    signingSecrets: () => Promise.resolve([SECRET_A]),
    ...options,
  });
  invokers.push(invoker);
  return invoker;
}

const ENVELOPE = {
  version: "0",
  id: "6f0e5d2a-1c1b-4f8e-9a53-0d6f6a1d2b3c",
  "detail-type": "Order Placed",
  source: "com.example.orders",
  account: "000000000000",
  time: "2024-05-01T12:00:00Z",
  region: "us-east-1",
  resources: ["arn:aws:example:us-east-1:000000000000:order/42"],
  detail: { orderId: 42, total: 12.5 },
};

function invocation(
  arn: string,
  overrides: Partial<Invocation> & { spec?: Record<string, unknown> } = {},
): Invocation {
  const json = JSON.stringify(ENVELOPE);
  const { spec, ...rest } = overrides;
  return {
    event: {
      id: ENVELOPE.id,
      accountId: "000000000000",
      busName: "default",
      time: Date.parse(ENVELOPE.time),
      ingestedAt: Date.now(),
      json,
    },
    payload: json,
    target: { id: "t1", arn, spec: { Id: "t1", Arn: arn, ...spec } },
    ruleArn: "arn:aws:events:us-east-1:000000000000:rule/orders",
    accountId: "000000000000",
    deliveryId: "dlv_01HZX3V5K9",
    attempt: 0,
    ...rest,
  };
}

interface Failure {
  name: string;
  code: string;
  retryable: boolean;
  retryAfterMs: number | undefined;
  message: string;
}

/** The DeliveryError an attempt fails with. */
async function failure(attempt: Promise<void>): Promise<Failure> {
  try {
    await attempt;
  } catch (error) {
    const failed = error as Failure;
    assert.equal(failed.name, "DeliveryError", `expected a DeliveryError, got ${String(error)}`);
    return failed;
  }
  assert.fail("the attempt succeeded");
}

const signal = (): AbortSignal => new AbortController().signal;

// ---------------------------------------------------------------------------------------------

describe("BUSBAR_ALLOW_TARGET_NETWORKS", () => {
  it("parses comma-separated CIDRs, ignoring blanks", () => {
    const allowed = parseAllowedNetworks(" 127.0.0.0/8 , ::1/128,,10.1.2.3 ");
    assert.deepEqual(allowed.cidrs, ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]);
    assert.ok(allowed.contains("127.9.9.9"));
    assert.ok(allowed.contains("::1"));
    assert.ok(allowed.contains("10.1.2.3"));
    assert.ok(!allowed.contains("10.1.2.4"));
  });

  it("takes an entry with bits set past its prefix as its whole network, and names it", () => {
    const allowed = parseAllowedNetworks("10.0.0.5/8,192.168.1.77/23,fd00::1:2/112,127.0.0.0/8");
    assert.deepEqual(allowed.cidrs, ["10.0.0.0/8", "192.168.0.0/23", "fd00::1:0/112", "127.0.0.0/8"]);
    assert.deepEqual(allowed.hostBitsSet, ["10.0.0.5/8", "192.168.1.77/23", "fd00::1:2/112"]);
    assert.ok(allowed.contains("10.200.0.1"));
    assert.ok(allowed.contains("192.168.0.9"));
    assert.ok(!allowed.contains("192.168.2.1"));
    assert.deepEqual(parseAllowedNetworks("127.0.0.0/8,::1").hostBitsSet, []);
  });

  it("allows nothing when unset or empty", () => {
    assert.deepEqual(parseAllowedNetworks(undefined).cidrs, []);
    assert.deepEqual(parseAllowedNetworks("").cidrs, []);
  });

  for (const bad of [
    "banana",
    "10.0.0.0/33",
    "::1/129",
    "10.0.0/8",
    "10.0.0.0/",
    "10.0.0.0/8/8",
    "0x7f.0.0.1/8",
  ]) {
    it(`rejects ${JSON.stringify(bad)}, naming it`, () => {
      assert.throws(
        () => parseAllowedNetworks(`127.0.0.0/8,${bad}`),
        (error: Error) =>
          error.message.includes(`"${bad}"`) && error.message.includes("BUSBAR_ALLOW_TARGET_NETWORKS"),
      );
    });
  }
});

describe("network guard", () => {
  const none = { allowed: parseAllowedNetworks(undefined) };
  const refused = [
    "127.0.0.1",
    "::1",
    "169.254.169.254",
    "10.20.30.40",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "::",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
  ];
  for (const address of refused) {
    it(`refuses ${address}`, () => assert.notEqual(refusalReason(address, none), undefined));
  }

  it("accepts public unicast addresses", () => {
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
      assert.equal(refusalReason(address, none), undefined, address);
    }
  });

  it("accepts addresses in allowed networks, IPv4-mapped ones included", () => {
    const policy = { allowed: LOOPBACK };
    assert.equal(refusalReason("127.0.0.1", policy), undefined);
    assert.equal(refusalReason("::1", policy), undefined);
    assert.equal(refusalReason("::ffff:127.0.0.1", policy), undefined);
    assert.notEqual(refusalReason("10.0.0.1", policy), undefined);
    assert.notEqual(refusalReason("169.254.169.254", policy), undefined);
    // An IPv4-compatible address (deprecated) is an IPv6 address of its own, not the IPv4 one it
    // spells: an IPv4 network does not allow it; an IPv6 network listing it does.
    for (const address of ["::127.0.0.1", "::7f00:1"])
      assert.match(refusalReason(address, policy) ?? "", /an IPv4-compatible address/, address);
    assert.equal(
      refusalReason("::127.0.0.1", { allowed: parseAllowedNetworks("::127.0.0.0/104") }),
      undefined,
    );
    const compatible = parseAllowedNetworks("::127.0.0.1/128");
    assert.deepEqual(compatible.cidrs, ["::7f00:1/128"]);
    assert.equal(compatible.contains("127.0.0.1"), false);
  });

  it("under allowedOnly, refuses public addresses outside the allowed networks", () => {
    const policy = { allowed: LOOPBACK, allowedOnly: true };
    assert.match(refusalReason("8.8.8.8", policy) ?? "", /BUSBAR_ALLOW_TARGET_NETWORKS/);
    assert.equal(refusalReason("127.0.0.1", policy), undefined);
  });

  it("keeps only the permitted addresses of a DNS answer", async () => {
    const answer = [
      { address: "10.0.0.7", family: 4 },
      { address: "93.184.216.34", family: 4 },
    ];
    const fakeDns = ((
      _host: string,
      _options: unknown,
      callback: (e: null, a: dns.LookupAddress[]) => void,
    ) => callback(null, answer)) as unknown as typeof dns.lookup;
    const lookup = createGuardedLookup({ allowed: parseAllowedNetworks(undefined) }, fakeDns);
    const all = await new Promise<unknown>((resolve, reject) =>
      lookup("mixed.example", { all: true }, (error, addresses) =>
        error ? reject(error) : resolve(addresses),
      ),
    );
    assert.deepEqual(all, [{ address: "93.184.216.34", family: 4 }]);
    const one = await new Promise<unknown>((resolve, reject) =>
      lookup("mixed.example", {}, (error, address, family) =>
        error ? reject(error) : resolve([address, family]),
      ),
    );
    assert.deepEqual(one, ["93.184.216.34", 4]);
  });

  it("shares one name lookup among the connections opened to a host at the same time", async () => {
    // getaddrinfo runs on libuv's four threads and cannot be cancelled: one lookup per connection to a
    // name that resolves slowly used to queue hundreds of them, holding the process after SIGTERM.
    const pending: Array<{ hostname: string; done: (e: Error | null, a: dns.LookupAddress[]) => void }> = [];
    const slowDns = ((
      hostname: string,
      _options: unknown,
      done: (e: Error | null, a: dns.LookupAddress[]) => void,
    ) => pending.push({ hostname, done })) as unknown as typeof dns.lookup;
    const lookup = createGuardedLookup({ allowed: parseAllowedNetworks(undefined) }, slowDns);
    const ask = (hostname: string) =>
      new Promise<string>((resolve) =>
        lookup(hostname, {}, (error, address) =>
          resolve(error === null ? (address as string) : error.message),
        ),
      );
    const answers = [...Array.from({ length: 50 }, () => ask("slow.example")), ask("other.example")];
    assert.deepEqual(
      pending.map((p) => p.hostname),
      ["slow.example", "other.example"],
    );
    pending[0]?.done(null, [{ address: "93.184.216.34", family: 4 }]);
    pending[1]?.done(
      Object.assign(new Error("getaddrinfo ENOTFOUND other.example"), { code: "ENOTFOUND" }),
      [],
    );
    const got = await Promise.all(answers);
    assert.deepEqual(
      got.slice(0, 50),
      Array.from({ length: 50 }, () => "93.184.216.34"),
    );
    assert.match(got[50] as string, /ENOTFOUND/);
    // Once answered, the next connection asks again (nothing is cached).
    const again = ask("slow.example");
    assert.equal(pending.length, 3);
    pending[2]?.done(null, [{ address: "10.0.0.1", family: 4 }]);
    assert.match(await again, /refused to call slow.example \(10.0.0.1\)/);
  });

  it("refuses loopback, IPv6 loopback, metadata and private targets before any byte is sent", async () => {
    const target = await receiver();
    const invoker = webhookInvoker({ allowedNetworks: parseAllowedNetworks(undefined) });
    for (const url of [
      `${target.origin}/hook`,
      `http://[::1]:${target.port}/hook`,
      "http://169.254.169.254/latest/meta-data/",
      "http://10.0.0.1/hook",
      `http://[::ffff:127.0.0.1]:${target.port}/hook`,
    ]) {
      const failed = await failure(invoker.invoke(invocation(url), signal()));
      assert.equal(failed.code, "NO_PERMISSIONS", url);
      assert.equal(failed.retryable, false, url);
      assert.match(failed.message, /BUSBAR_ALLOW_TARGET_NETWORKS/);
    }
    assert.equal(target.requests.length, 0);
    assert.equal(target.connections, 0);
  });

  it("refuses a host name that resolves to loopback, naming the address", async () => {
    const target = await receiver();
    const invoker = webhookInvoker({ allowedNetworks: parseAllowedNetworks(undefined) });
    const failed = await failure(
      invoker.invoke(invocation(`http://localhost:${target.port}/hook`), signal()),
    );
    assert.equal(failed.code, "NO_PERMISSIONS");
    assert.equal(failed.retryable, false);
    assert.match(failed.message, /localhost \((127\.0\.0\.1|::1)\)/);
    assert.equal(target.connections, 0);
  });

  it("lets loopback through when 127.0.0.0/8,::1/128 is allowed, by literal and by name", async () => {
    const target = await receiver();
    const invoker = webhookInvoker();
    await invoker.invoke(invocation(`${target.origin}/hook`), signal());
    await invoker.invoke(invocation(`http://localhost:${target.port}/hook`), signal());
    assert.equal(target.requests.length, 2);
  });
});

describe("HTTP client", () => {
  it("retries exactly 401, 407, 409, 429 and 5xx", () => {
    for (let status = 100; status <= 599; status++) {
      const retried = [401, 407, 409, 429].includes(status) || status >= 500;
      assert.equal(isRetryableStatus(status), retried, String(status));
    }
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2024-05-01T12:00:00Z");
    assert.equal(parseRetryAfter("120", now), 120_000);
    assert.equal(parseRetryAfter("Wed, 01 May 2024 12:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Wed, 01 May 2024 11:00:00 GMT", now), 0);
    // RFC 850 and asctime, the obsolete forms a recipient must read, in GMT too.
    assert.equal(parseRetryAfter("Wednesday, 01-May-24 12:01:00 GMT", now), 60_000);
    assert.equal(parseRetryAfter("Wed May  1 12:00:10 2024", now), 10_000);
    // What is neither is ignored (the usual backoff applies): negative numbers, fractions, other text
    // that Date.parse would have read.
    for (const text of ["-1", "-30", "3.5", "soon", "later 2099", "x 2030", "2024-05-01T12:00:30Z"])
      assert.equal(parseRetryAfter(text, now), undefined, text);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    const negative = errorForResponse(
      { status: 429, statusMessage: "Too Many Requests", headers: { "retry-after": "-1" }, body: "" },
      "POST http://x/hook",
      now,
    );
    assert.equal(negative?.retryable, true);
    assert.equal(negative?.retryAfterMs, undefined);
  });

  it("does not follow redirects: a 302 fails for good and its Location is never requested", async () => {
    const target = await receiver((req, res) => {
      if (req.url === "/hook") res.writeHead(302, { location: "/elsewhere?token=x" }).end();
      else res.end();
    });
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.code, "ERROR_FROM_TARGET");
    assert.equal(failed.retryable, false);
    assert.match(failed.message, /HTTP 302.*\/elsewhere/);
    assert.doesNotMatch(failed.message, /token=x/);
    assert.deepEqual(
      target.requests.map((r) => r.url),
      ["/hook"],
    );
    // A 304 (to a request that asked nothing conditional) fails alike, but is no redirect.
    const notModified = await receiver((_req, res) => res.writeHead(304).end());
    const stale = await failure(webhookInvoker().invoke(invocation(`${notModified.origin}/hook`), signal()));
    assert.equal(stale.code, "ERROR_FROM_TARGET");
    assert.equal(stale.retryable, false);
    assert.match(stale.message, /HTTP 304 Not Modified: not a success \(2xx\)$/);
  });

  it("times out a receiver that never answers, retryably, within the configured timeout", async () => {
    const target = await receiver(() => {
      /* never answers */
    });
    const started = Date.now();
    const failed = await failure(
      webhookInvoker({ timeoutMs: 300 }).invoke(invocation(`${target.origin}/hook`), signal()),
    );
    const elapsed = Date.now() - started;
    assert.equal(failed.code, "TIMEOUT");
    assert.equal(failed.retryable, true);
    assert.ok(elapsed >= 280 && elapsed < 2000, `took ${elapsed} ms`);
  });

  it("fails retryably when the connection is reset mid-request", async () => {
    const target = await receiver((_req, _res, raw) => raw.socket.destroy());
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.code, "CONNECTION_FAILURE");
    assert.equal(failed.retryable, true);
  });

  it("fails retryably when the connection is refused", async () => {
    const target = await receiver();
    await target.close();
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.code, "CONNECTION_FAILURE");
    assert.equal(failed.retryable, true);
    assert.match(failed.message, /ECONNREFUSED/);
  });

  it("fails retryably when the delivery engine aborts the attempt", async () => {
    const target = await receiver(() => {
      /* never answers */
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const failed = await failure(
      webhookInvoker().invoke(invocation(`${target.origin}/hook`), controller.signal),
    );
    assert.equal(failed.retryable, true);
    assert.equal(failed.code, "INTERNAL_ERROR");
  });

  it("retries a 500, with the start of the body in the message", async () => {
    const target = await receiver((_req, res) =>
      res.writeHead(500).end(`database down ${"x".repeat(20_000)}`),
    );
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.code, "ERROR_FROM_TARGET");
    assert.equal(failed.retryable, true);
    assert.equal(failed.retryAfterMs, undefined);
    assert.match(failed.message, /HTTP 500 Internal Server Error: database down x+/);
    assert.ok(failed.message.length < 1300, `message of ${failed.message.length} characters`);
  });

  it("fails on a 5xx with an endless body without reading it all, closing that connection", async () => {
    // 64 MiB of error page, written as fast as the client reads it: how much of it was taken.
    let written = 0;
    let closed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (closed = resolve));
    const target = await receiver((_req, res) => {
      res.writeHead(500);
      const chunk = Buffer.alloc(64 * 1024, "z");
      const more = (): void => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      res.on("close", closed);
      more();
    });
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.retryable, true);
    assert.match(failed.message, /HTTP 500 Internal Server Error: z+/);
    await done;
    // What the sockets' buffers took before the client closed the connection, not the 64 MiB.
    assert.ok(written < 16 * 1024 * 1024, `${written} bytes written`);
  });

  it("succeeds on a 2xx with a long body without reading it all, on a new connection next time", async () => {
    let calls = 0;
    const target = await receiver((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(200).end("y".repeat(4 * 1024 * 1024));
      else res.writeHead(204).end();
    });
    const invoker = webhookInvoker();
    await invoker.invoke(invocation(`${target.origin}/hook`), signal());
    await invoker.invoke(invocation(`${target.origin}/hook`), signal());
    assert.equal(target.requests.length, 2);
    // The first connection was closed rather than read to the end of its 4 MiB (read to its end, it
    // would have carried the second request too).
    assert.ok(target.connections >= 2, `${target.connections} connections`);
  });

  it("retries a 429 after its Retry-After seconds", async () => {
    const target = await receiver((_req, res) => res.writeHead(429, { "retry-after": "7" }).end());
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.code, "THROTTLING");
    assert.equal(failed.retryable, true);
    assert.equal(failed.retryAfterMs, 7000);
  });

  it("retries a 503 after its Retry-After date", async () => {
    const date = new Date(Date.now() + 30_000).toUTCString();
    const target = await receiver((_req, res) => res.writeHead(503, { "retry-after": date }).end());
    const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
    assert.equal(failed.code, "ERROR_FROM_TARGET");
    assert.equal(failed.retryable, true);
    assert.ok(
      failed.retryAfterMs !== undefined && failed.retryAfterMs > 27_000 && failed.retryAfterMs <= 30_000,
      String(failed.retryAfterMs),
    );
  });

  for (const status of [400, 404, 410]) {
    it(`does not retry a ${status}`, async () => {
      const target = await receiver((_req, res) => res.writeHead(status).end());
      const failed = await failure(webhookInvoker().invoke(invocation(`${target.origin}/hook`), signal()));
      assert.equal(failed.code, "ERROR_FROM_TARGET");
      assert.equal(failed.retryable, false);
    });
  }
});

describe("webhooks", () => {
  it("checks webhook URLs for PutTargets", () => {
    assert.equal(checkWebhookUrl("https://example.com/hook"), undefined);
    assert.equal(checkWebhookUrl("http://example.com/hook?x=1#cloudevents=binary"), undefined);
    assert.equal(checkWebhookUrl("https://example.com/#cloudevents=structured"), undefined);
    assert.match(checkWebhookUrl("ftp://example.com/") ?? "", /http or https/);
    assert.match(checkWebhookUrl("https://user:pw@example.com/") ?? "", /user name or password/);
    assert.match(checkWebhookUrl("https://example.com/#cloudevents=batch") ?? "", /fragment/);
    assert.match(checkWebhookUrl("not a url") ?? "", /absolute/);
    assert.match(checkWebhookUrl(`https://example.com/${"a".repeat(1600)}`) ?? "", /1600/);
  });

  it("POSTs the payload signed as Standard Webhooks specifies", async () => {
    const target = await receiver();
    await webhookInvoker().invoke(invocation(`${target.origin}/hook?tenant=7`), signal());
    const [request] = target.requests;
    assert.ok(request);
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/hook?tenant=7");
    assert.equal(request.headers["content-type"], "application/json");
    assert.match(request.headers["user-agent"] ?? "", /^Busbar\/\d+\.\d+\.\d+/);
    assert.equal(request.headers["webhook-id"], "dlv_01HZX3V5K9");
    assert.match(request.headers["webhook-signature"] as string, /^v1,[A-Za-z0-9+/]+=*$/);
    assert.ok(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000) < 5);
    const verified = new Webhook(SECRET_A).verify(request.body, request.headers as Record<string, string>);
    assert.deepEqual(verified, ENVELOPE);
    assert.throws(() =>
      new Webhook(SECRET_B).verify(request.body, request.headers as Record<string, string>),
    );
  });

  it("sends an InputTransformer's text output as text/plain, signed the same way", async () => {
    const target = await receiver();
    const spec = { InputTransformer: { InputPathsMap: { s: "$.source" }, InputTemplate: "order from <s>" } };
    const base = invocation(`${target.origin}/hook`, { spec });
    await webhookInvoker().invoke({ ...base, payload: "order from com.example.orders" }, signal());
    const json = invocation(`${target.origin}/hook`, { spec });
    await webhookInvoker().invoke({ ...json, payload: '{"from":"com.example.orders"}' }, signal());
    const [text, object] = target.requests;
    assert.equal(text?.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(object?.headers["content-type"], "application/json");
    // standardwebhooks checks the signature, then parses the body as JSON: a bad signature is a
    // WebhookVerificationError, a good one over text the parser's SyntaxError.
    const headers = text?.headers as Record<string, string>;
    assert.throws(() => new Webhook(SECRET_A).verify(text?.body ?? "", headers), SyntaxError);
    assert.throws(() => new Webhook(SECRET_B).verify(text?.body ?? "", headers), WebhookVerificationError);
  });

  it("keeps webhook-id across the attempts of one delivery", async () => {
    const target = await receiver();
    const invoker = webhookInvoker();
    await invoker.invoke(invocation(`${target.origin}/hook`, { attempt: 0 }), signal());
    await invoker.invoke(invocation(`${target.origin}/hook`, { attempt: 1 }), signal());
    await invoker.invoke(invocation(`${target.origin}/hook`, { deliveryId: "dlv_other" }), signal());
    const ids = target.requests.map((r) => r.headers["webhook-id"]);
    assert.deepEqual(ids, ["dlv_01HZX3V5K9", "dlv_01HZX3V5K9", "dlv_other"]);
    for (const request of target.requests) {
      new Webhook(SECRET_A).verify(request.body, request.headers as Record<string, string>);
    }
  });

  it("signs with every active secret during a rotation", async () => {
    const target = await receiver();
    await webhookInvoker({ signingSecrets: () => Promise.resolve([SECRET_A, SECRET_B]) }).invoke(
      invocation(`${target.origin}/hook`),
      signal(),
    );
    const [request] = target.requests;
    assert.ok(request);
    const signatures = (request.headers["webhook-signature"] as string).split(" ");
    assert.equal(signatures.length, 2);
    for (const secret of [SECRET_A, SECRET_B]) {
      assert.deepEqual(
        new Webhook(secret).verify(request.body, request.headers as Record<string, string>),
        ENVELOPE,
      );
    }
    // Each signature alone verifies with its own secret.
    for (const [index, secret] of [SECRET_A, SECRET_B].entries()) {
      const headers = {
        ...(request.headers as Record<string, string>),
        "webhook-signature": signatures[index] ?? "",
      };
      new Webhook(secret).verify(request.body, headers);
    }
  });

  it("fails retryably when the secrets cannot be read", async () => {
    const target = await receiver();
    const failed = await failure(
      webhookInvoker({ signingSecrets: () => Promise.reject(new Error("store down")) }).invoke(
        invocation(`${target.origin}/hook`),
        signal(),
      ),
    );
    assert.equal(failed.code, "INTERNAL_ERROR");
    assert.equal(failed.retryable, true);
    assert.equal(target.requests.length, 0);
  });

  it("sends a CloudEvent in binary mode, without the fragment", async () => {
    const target = await receiver();
    const payload = JSON.stringify(ENVELOPE.detail);
    await webhookInvoker().invoke(
      invocation(`${target.origin}/ce?x=1#cloudevents=binary`, { payload }),
      signal(),
    );
    const [request] = target.requests;
    assert.ok(request);
    assert.equal(request.url, "/ce?x=1");
    assert.equal(request.body, payload);
    const event = HTTP.toEvent({ headers: request.headers, body: request.body });
    assert.ok(!Array.isArray(event));
    assert.equal(event.specversion, "1.0");
    assert.equal(event.id, ENVELOPE.id);
    assert.equal(event.source, ENVELOPE.source);
    assert.equal(event.type, ENVELOPE["detail-type"]);
    assert.equal(new Date(event.time ?? "").toISOString(), new Date(ENVELOPE.time).toISOString());
    assert.equal(event.subject, ENVELOPE.resources[0]);
    assert.equal(event.datacontenttype, "application/json");
    assert.equal(event["account"], ENVELOPE.account);
    assert.equal(event["region"], ENVELOPE.region);
    assert.deepEqual(event.data, ENVELOPE.detail);
    new Webhook(SECRET_A).verify(request.body, request.headers as Record<string, string>);
  });

  it("sends a CloudEvent in structured mode", async () => {
    const target = await receiver();
    await webhookInvoker().invoke(invocation(`${target.origin}/ce#cloudevents=structured`), signal());
    const [request] = target.requests;
    assert.ok(request);
    assert.match(request.headers["content-type"] ?? "", /^application\/cloudevents\+json/);
    const event = HTTP.toEvent({ headers: request.headers, body: request.body });
    assert.ok(!Array.isArray(event));
    assert.equal(event.id, ENVELOPE.id);
    assert.equal(event.type, "Order Placed");
    assert.equal(event["account"], "000000000000");
    assert.deepEqual(event.data, ENVELOPE);
    new Webhook(SECRET_A).verify(request.body, request.headers as Record<string, string>);
  });

  it("percent-encodes what HTTP headers cannot carry in binary mode, and sends any source", async () => {
    const target = await receiver();
    const envelope = {
      ...ENVELOPE,
      "detail-type": 'Commande passée ✓ 50% "off"',
      source: "my shöp|v2",
      resources: [" arn:aws:s3:::bücket "],
    };
    const json = JSON.stringify(envelope);
    const base = invocation(`${target.origin}/ce#cloudevents=binary`);
    await webhookInvoker().invoke({ ...base, event: { ...base.event, json }, payload: json }, signal());
    const [request] = target.requests;
    assert.ok(request);
    for (const [name, value] of Object.entries(request.headers)) {
      if (name.startsWith("ce-"))
        assert.match(String(value), /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/, name);
    }
    assert.equal(request.headers["ce-type"], "Commande pass%C3%A9e %E2%9C%93 50%25 %22off%22");
    assert.equal(request.headers["ce-subject"], "%20arn:aws:s3:::b%C3%BCcket%20");
    // A decoder as the HTTP binding describes it (one round of percent-decoding) reads the attributes back.
    const decoded = (name: string) => decodeURIComponent(String(request.headers[name]));
    assert.equal(decoded("ce-type"), envelope["detail-type"]);
    assert.equal(decoded("ce-subject"), envelope.resources[0]);
    // The source is not a URI-reference: it goes percent-encoded as a whole, once more in its header.
    assert.equal(decoded("ce-source"), encodeURIComponent(envelope.source));
    const event = HTTP.toEvent({ headers: request.headers, body: request.body });
    assert.ok(!Array.isArray(event));
    assert.deepEqual(event.data, envelope);

    const structured = await receiver();
    const second = invocation(`${structured.origin}/ce#cloudevents=structured`);
    await webhookInvoker().invoke({ ...second, event: { ...second.event, json }, payload: json }, signal());
    const got = HTTP.toEvent({
      headers: structured.requests[0]?.headers ?? {},
      body: structured.requests[0]?.body,
    });
    assert.ok(!Array.isArray(got));
    assert.equal(got.type, envelope["detail-type"]);
    assert.equal(got.source, "my%20sh%C3%B6p%7Cv2");
  });

  it("sends a payload that is not JSON as text/plain data", async () => {
    const target = await receiver();
    await webhookInvoker().invoke(
      invocation(`${target.origin}/ce#cloudevents=structured`, { payload: "Order 42 placed" }),
      signal(),
    );
    const event = HTTP.toEvent({
      headers: target.requests[0]?.headers ?? {},
      body: target.requests[0]?.body,
    });
    assert.ok(!Array.isArray(event));
    assert.equal(event.datacontenttype, "text/plain; charset=utf-8");
    assert.equal(event.data, "Order 42 placed");
  });
});

// ---------------------------------------------------------------------------------------------
// API destinations

let destinationCount = 0;

/** An OAuth client-credentials API destination at `apiOrigin`/orders, its token from `tokenOrigin`/token. */
function oauthDestination(apiOrigin: string, tokenOrigin: string): ResolvedApiDestination {
  return apiDestination(`${apiOrigin}/orders`, "OAUTH_CLIENT_CREDENTIALS", {
    OAuthParameters: {
      AuthorizationEndpoint: `${tokenOrigin}/token`,
      HttpMethod: "POST",
      ClientParameters: { ClientID: "c", ClientSecret: "s" },
    },
  });
}

function apiDestination(
  endpoint: string,
  type: ConnectionAuthorizationType,
  auth: Record<string, unknown>,
  extra: Partial<ApiDestination> & { connectionState?: Connection["state"] } = {},
): ResolvedApiDestination {
  const n = ++destinationCount;
  const { connectionState, ...destinationExtra } = extra;
  const connection: Connection = {
    accountId: "000000000000",
    name: `conn-${n}`,
    arn: `arn:aws:events:us-east-1:000000000000:connection/conn-${n}/8d2b4b7a-0000-4000-8000-00000000000${n % 10}`,
    authorizationType: type,
    state: connectionState ?? "AUTHORIZED",
    authParameters: "(encrypted)",
    createdAt: 1,
    lastModifiedAt: 1,
  };
  const destination: ApiDestination = {
    accountId: "000000000000",
    name: `dest-${n}`,
    arn: `arn:aws:events:us-east-1:000000000000:api-destination/dest-${n}/0f4e3d2c-0000-4000-8000-00000000000${n % 10}`,
    connectionArn: connection.arn,
    invocationEndpoint: endpoint,
    httpMethod: "POST",
    invocationRateLimitPerSecond: 300,
    state: "ACTIVE",
    createdAt: 1,
    lastModifiedAt: 1,
    ...destinationExtra,
  };
  return { destination, connection, auth };
}

function apiInvoker(...resolved: ResolvedApiDestination[]): Invoker {
  const byArn = new Map(resolved.map((r) => [r.destination.arn, r]));
  const invoker = createApiDestinationInvoker({
    allowedNetworks: LOOPBACK,
    resolve: (arn) => Promise.resolve(byArn.get(arn)),
  });
  invokers.push(invoker);
  return invoker;
}

const BASIC = { BasicAuthParameters: { Username: "busbar", Password: "pa:ss" } };

describe("API destinations", () => {
  it("recognizes API destination ARNs", () => {
    assert.ok(
      isApiDestinationArn("arn:aws:events:us-east-1:123456789012:api-destination/orders/3b3f6a0e-1c2d"),
    );
    assert.ok(!isApiDestinationArn("arn:aws:events:us-east-1:123456789012:rule/orders"));
    assert.ok(!isApiDestinationArn("https://example.com/hook"));
  });

  it("calls with Basic authorization and EventBridge's content type", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/orders`, "BASIC", BASIC);
    await apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal());
    const [request] = target.requests;
    assert.ok(request);
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/orders");
    assert.equal(request.headers.authorization, `Basic ${Buffer.from("busbar:pa:ss").toString("base64")}`);
    assert.equal(request.headers["content-type"], "application/json; charset=utf-8");
    assert.deepEqual(JSON.parse(request.body), ENVELOPE);
  });

  it("stops retrying on a negative Retry-After, as EventBridge documents for API destinations", async () => {
    const target = await receiver((req, res) =>
      res.writeHead(503, { "retry-after": req.url === "/never" ? "-1" : "2" }).end(),
    );
    const never = apiDestination(`${target.origin}/never`, "BASIC", BASIC);
    const failed = await failure(apiInvoker(never).invoke(invocation(never.destination.arn), signal()));
    assert.equal(failed.retryable, false);
    assert.match(
      failed.message,
      /returned HTTP 503 .*\(Retry-After: -1: the endpoint asked not to be called again/,
    );
    const later = apiDestination(`${target.origin}/later`, "BASIC", BASIC);
    const retried = await failure(apiInvoker(later).invoke(invocation(later.destination.arn), signal()));
    assert.equal(retried.retryable, true);
    assert.equal(retried.retryAfterMs, 2000);
  });

  it("calls with an API key header", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/orders`, "API_KEY", {
      ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "k-123" },
    });
    await apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal());
    assert.equal(target.requests[0]?.headers["x-api-key"], "k-123");
    assert.equal(target.requests[0]?.headers.authorization, undefined);
  });

  it("keeps the credentials a target's error page echoes out of the error (logs, dead-letter queues)", async () => {
    // As many API error pages do: the request's headers and query, back in a 400's body.
    const echo = await receiver((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "bad request", url: req.url, headers: req.headers }));
    });
    const cases: [ConnectionAuthorizationType, Record<string, unknown>, string[]][] = [
      [
        "API_KEY",
        {
          ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "SECRET-API-KEY" },
          InvocationHttpParameters: {
            QueryStringParameters: [{ Key: "sig", Value: "SECRET QUERY/VALUE" }],
            HeaderParameters: [{ Key: "x-tenant", Value: "SECRET-TENANT" }],
          },
        },
        ["SECRET-API-KEY", "SECRET QUERY/VALUE", encodeURIComponent("SECRET QUERY/VALUE"), "SECRET-TENANT"],
      ],
      [
        "BASIC",
        { BasicAuthParameters: { Username: "bob", Password: "SECRET-PASSWORD" } },
        [Buffer.from("bob:SECRET-PASSWORD").toString("base64")],
      ],
    ];
    for (const [type, auth, secrets] of cases) {
      const resolved = apiDestination(`${echo.origin}/orders`, type, auth);
      const failed = await failure(
        apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal()),
      );
      assert.match(failed.message, /returned HTTP 400.*bad request/);
      for (const secret of secrets)
        assert.ok(!failed.message.includes(secret), `${type}: ${secret} in ${failed.message}`);
      assert.match(failed.message, /\*\*\*/);
    }
  });

  it("fills path wildcards and merges query and header parameters, the connection's winning", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/orders/*/items/*?fixed=1`, "BASIC", {
      ...BASIC,
      InvocationHttpParameters: {
        HeaderParameters: [
          { Key: "X-Shared", Value: "from-connection", IsValueSecret: false },
          { Key: "Host", Value: "evil.example", IsValueSecret: false },
        ],
        QueryStringParameters: [{ Key: "shared", Value: "from-connection", IsValueSecret: true }],
        BodyParameters: [{ Key: "tenant", Value: "acme", IsValueSecret: false }],
      },
    });
    await apiInvoker(resolved).invoke(
      invocation(resolved.destination.arn, {
        spec: {
          HttpParameters: {
            PathParameterValues: ["a b/c", "42"],
            QueryStringParameters: { q: "x y", shared: "from-target" },
            HeaderParameters: {
              "X-Target": "t",
              "X-Shared": "from-target",
              "Content-Type": "application/vnd.orders+json",
            },
          },
        },
      }),
      signal(),
    );
    const [request] = target.requests;
    assert.ok(request);
    const url = new URL(request.url, target.origin);
    assert.equal(url.pathname, "/orders/a%20b%2Fc/items/42");
    assert.equal(url.searchParams.get("fixed"), "1");
    assert.equal(url.searchParams.get("q"), "x y");
    assert.equal(url.searchParams.get("shared"), "from-connection");
    assert.equal(request.headers["x-target"], "t");
    assert.equal(request.headers["x-shared"], "from-connection");
    assert.equal(request.headers["content-type"], "application/vnd.orders+json");
    assert.equal(request.headers.host, `127.0.0.1:${target.port}`);
    assert.deepEqual(JSON.parse(request.body), { ...ENVELOPE, tenant: "acme" });
  });

  it("keeps a path parameter . or .. inside its segment, sent as %2E or %2E%2E", async () => {
    const target = await receiver((_req, res) => {
      res.writeHead(404).end();
    });
    const resolved = apiDestination(`${target.origin}/api/tenants/*/orders/*`, "BASIC", BASIC);
    const invoker = apiInvoker(resolved);
    const dotted = invocation(resolved.destination.arn, {
      spec: { HttpParameters: { PathParameterValues: ["$.detail.id", "."] } },
    });
    const event = { ...dotted.event, json: JSON.stringify({ ...ENVELOPE, detail: { id: ".." } }) };
    const failed = await failure(invoker.invoke({ ...dotted, event }, signal()));
    // What the receiver read is the request line as sent: nothing on the way resolved the segments.
    assert.equal(target.requests[0]?.url, "/api/tenants/%2E%2E/orders/%2E");
    assert.match(
      failed.message,
      /POST http:\/\/127\.0\.0\.1:\d+\/api\/tenants\/%2E%2E\/orders\/%2E returned HTTP 404/,
    );
    // Neighbours that only look like dot segments, and other values, go as they are.
    await assert.rejects(
      invoker.invoke(
        invocation(resolved.destination.arn, {
          spec: { HttpParameters: { PathParameterValues: ["...", "a.b"] } },
        }),
        signal(),
      ),
    );
    assert.equal(target.requests[1]?.url, "/api/tenants/.../orders/a.b");
  });

  it("times a call out after the invoker's timeout, even on a shared client that waits longer", async () => {
    const target = await receiver(() => {
      /* never answers */
    });
    const resolved = apiDestination(`${target.origin}/slow`, "BASIC", BASIC);
    const client = new HttpClient({ allowedNetworks: LOOPBACK, timeoutMs: 10_000 });
    const invoker = createApiDestinationInvoker({
      client,
      resolve: () => Promise.resolve(resolved),
      timeoutMs: 300,
    });
    try {
      const started = Date.now();
      const failed = await failure(invoker.invoke(invocation(resolved.destination.arn), signal()));
      const elapsed = Date.now() - started;
      assert.equal(failed.code, "TIMEOUT");
      assert.equal(failed.retryable, true);
      assert.ok(elapsed >= 280 && elapsed < 2000, `took ${elapsed} ms`);
    } finally {
      await invoker.close();
      await client.close();
    }
  });

  it("replaces HttpParameters values that are JSON paths with what they select in the event as accepted", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/orders/*/items/*`, "BASIC", BASIC);
    const invoker = apiInvoker(resolved);
    await invoker.invoke(
      invocation(resolved.destination.arn, {
        // The transformed payload has no detail: the paths read the original event.
        payload: '{"transformed":true}',
        spec: {
          HttpParameters: {
            PathParameterValues: ["$.detail.orderId", "$.source"],
            QueryStringParameters: {
              total: "$.detail.total",
              literal: "x$.detail.total",
              all: "$.resources",
            },
            HeaderParameters: { "X-Type": "$.detail-type", "X-Static": "static" },
          },
        },
      }),
      signal(),
    );
    const [request] = target.requests;
    assert.ok(request);
    const url = new URL(request.url, target.origin);
    assert.equal(url.pathname, "/orders/42/items/com.example.orders");
    assert.equal(url.searchParams.get("total"), "12.5");
    assert.equal(url.searchParams.get("literal"), "x$.detail.total", "only a whole value is a path");
    assert.equal(url.searchParams.get("all"), '["arn:aws:example:us-east-1:000000000000:order/42"]');
    assert.equal(request.headers["x-type"], "Order Placed");
    assert.equal(request.headers["x-static"], "static");
    assert.equal(request.body, '{"transformed":true}');
    // A path that selects nothing fails the invocation for good, before anything is sent.
    const missing = await failure(
      invoker.invoke(
        invocation(resolved.destination.arn, {
          spec: { HttpParameters: { PathParameterValues: ["$.detail.missing", "x"] } },
        }),
        signal(),
      ),
    );
    assert.equal(missing.code, "INPUT_PATH_NOT_FOUND");
    assert.equal(missing.retryable, false);
    assert.match(missing.message, /\$\.detail\.missing/);
    assert.equal(target.requests.length, 1);
  });

  it("fails for good on a header parameter HTTP does not allow, in its name or its value", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/orders`, "BASIC", BASIC);
    const invoker = apiInvoker(resolved);
    const call = (headers: Record<string, string>) =>
      invoker.invoke(
        invocation(resolved.destination.arn, { spec: { HttpParameters: { HeaderParameters: headers } } }),
        signal(),
      );
    // Twice each: the client keeps the names it found valid, never the ones it refused.
    for (const headers of [{ "X Bad": "v" }, { "X-Bad\u00e9": "v" }, { "X-Ok": "line\nbreak" }]) {
      for (let i = 0; i < 2; i++) {
        const failed = await failure(call(headers));
        assert.equal(failed.code, "INVALID_PARAMETER", JSON.stringify(headers));
        assert.equal(failed.retryable, false);
        assert.match(failed.message, /has a name or value HTTP does not allow/);
      }
    }
    assert.equal(target.requests.length, 0);
    await call({ "X-Ok": "fine", "X-Mixed-Case": "m" });
    await call({ "X-Ok": "again" });
    assert.deepEqual(
      target.requests.map((r) => [r.headers["x-ok"], r.headers["x-mixed-case"]]),
      [
        ["fine", "m"],
        ["again", undefined],
      ],
    );
  });

  it("fails for good when path wildcards lack values", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/orders/*`, "BASIC", BASIC);
    const failed = await failure(apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal()));
    assert.equal(failed.code, "INVALID_PARAMETER");
    assert.equal(failed.retryable, false);
    assert.equal(target.requests.length, 0);
  });

  it("sends GET without a body", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/ping`, "BASIC", BASIC, { httpMethod: "GET" });
    await apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal());
    const [request] = target.requests;
    assert.ok(request);
    assert.equal(request.method, "GET");
    assert.equal(request.body, "");
    assert.equal(request.headers["content-length"], undefined);
    assert.equal(request.headers["transfer-encoding"], undefined);
    assert.equal(request.headers["content-type"], undefined);
  });

  it("fails for good when the API destination does not exist or its connection is deauthorized", async () => {
    const target = await receiver();
    const deauthorized = apiDestination(`${target.origin}/x`, "BASIC", BASIC, {
      connectionState: "DEAUTHORIZED",
    });
    const invoker = apiInvoker(deauthorized);
    const missing = await failure(
      invoker.invoke(invocation("arn:aws:events:us-east-1:000000000000:api-destination/nope/1"), signal()),
    );
    assert.equal(missing.code, "NO_RESOURCE");
    assert.equal(missing.retryable, false);
    const refused = await failure(invoker.invoke(invocation(deauthorized.destination.arn), signal()));
    assert.equal(refused.code, "NO_PERMISSIONS");
    assert.equal(refused.retryable, false);
    assert.equal(target.requests.length, 0);
  });

  it("fails for good, sending nothing, when a parameter has no value (dropped by a deauthorization)", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/x`, "BASIC", {
      ...BASIC,
      InvocationHttpParameters: { HeaderParameters: [{ Key: "x-tenant-token", IsValueSecret: true }] },
    });
    const failed = await failure(apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal()));
    assert.equal(failed.code, "NO_PERMISSIONS");
    assert.equal(failed.retryable, false);
    assert.match(failed.message, /InvocationHttpParameters\.HeaderParameters 'x-tenant-token' has no value/);
    assert.equal(target.requests.length, 0);
  });

  it("applies the network guard to the endpoint", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/x`, "BASIC", BASIC);
    const invoker = createApiDestinationInvoker({ resolve: () => Promise.resolve(resolved) });
    invokers.push(invoker);
    const failed = await failure(invoker.invoke(invocation(resolved.destination.arn), signal()));
    assert.equal(failed.code, "NO_PERMISSIONS");
    assert.equal(failed.retryable, false);
    assert.equal(target.connections, 0);
  });

  it("gets an OAuth token once, reuses it, and fetches a fresh one after a 401", async () => {
    let issued = 0;
    const tokenEndpoint = await receiver((req, res) => {
      issued++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: `token-${issued}`, token_type: "Bearer", expires_in: 3600 }));
    });
    let valid = "token-1";
    const api = await receiver((req, res) =>
      res.writeHead(req.headers.authorization === `Bearer ${valid}` ? 200 : 401).end(),
    );
    const resolved = apiDestination(`${api.origin}/orders`, "OAUTH_CLIENT_CREDENTIALS", {
      OAuthParameters: {
        AuthorizationEndpoint: `${tokenEndpoint.origin}/oauth/token?tenant=t1`,
        HttpMethod: "POST",
        ClientParameters: { ClientID: "client-1", ClientSecret: "s3cret" },
        OAuthHttpParameters: {
          HeaderParameters: [{ Key: "X-Auth-Extra", Value: "h", IsValueSecret: false }],
          QueryStringParameters: [{ Key: "audience", Value: "orders", IsValueSecret: false }],
          BodyParameters: [{ Key: "scope", Value: "orders.write", IsValueSecret: false }],
        },
      },
    });
    const invoker = apiInvoker(resolved);
    await Promise.all([1, 2, 3].map(() => invoker.invoke(invocation(resolved.destination.arn), signal())));
    await invoker.invoke(invocation(resolved.destination.arn), signal());
    assert.equal(issued, 1);
    const [tokenRequest] = tokenEndpoint.requests;
    assert.ok(tokenRequest);
    assert.equal(tokenRequest.method, "POST");
    const tokenUrl = new URL(tokenRequest.url, tokenEndpoint.origin);
    assert.equal(tokenUrl.pathname, "/oauth/token");
    assert.equal(tokenUrl.searchParams.get("tenant"), "t1");
    assert.equal(tokenUrl.searchParams.get("audience"), "orders");
    assert.equal(
      tokenRequest.headers.authorization,
      `Basic ${Buffer.from("client-1:s3cret").toString("base64")}`,
    );
    assert.equal(tokenRequest.headers["x-auth-extra"], "h");
    assert.equal(tokenRequest.headers["content-type"], "application/x-www-form-urlencoded");
    const form = new URLSearchParams(tokenRequest.body);
    assert.equal(form.get("grant_type"), "client_credentials");
    assert.equal(form.get("scope"), "orders.write");

    valid = "token-2"; // the API revokes token-1
    const failed = await failure(invoker.invoke(invocation(resolved.destination.arn), signal()));
    assert.equal(failed.code, "ERROR_FROM_TARGET");
    assert.equal(failed.retryable, true);
    await invoker.invoke(invocation(resolved.destination.arn), signal());
    assert.equal(issued, 2);
    assert.deepEqual(
      api.requests.map((r) => r.headers.authorization),
      [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
      ],
    );
  });

  it("treats expires_in 0 as already expired, and a token without expires_in as lasting", async () => {
    for (const [expiresIn, fetches] of [
      [0, 3],
      [undefined, 1],
    ] as const) {
      let issued = 0;
      const tokenEndpoint = await receiver((_req, res) => {
        issued++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: `token-${issued}`, expires_in: expiresIn }));
      });
      const api = await receiver();
      const resolved = oauthDestination(api.origin, tokenEndpoint.origin);
      const invoker = apiInvoker(resolved);
      for (let i = 0; i < 3; i++) await invoker.invoke(invocation(resolved.destination.arn), signal());
      assert.equal(issued, fetches, `expires_in ${String(expiresIn)}`);
      assert.equal(api.requests.at(-1)?.headers.authorization, `Bearer token-${fetches}`);
    }
  });

  it("fails for good when the token endpoint rejects the client (400, 401 or 403)", async () => {
    for (const status of [400, 401, 403]) {
      const tokenEndpoint = await receiver((_req, res) =>
        res.writeHead(status).end('{"error":"invalid_client"}'),
      );
      const api = await receiver();
      const resolved = oauthDestination(api.origin, tokenEndpoint.origin);
      const failed = await failure(
        apiInvoker(resolved).invoke(invocation(resolved.destination.arn), signal()),
      );
      assert.equal(failed.retryable, false, String(status));
      assert.equal(failed.code, status === 400 ? failed.code : "NO_PERMISSIONS", String(status));
      assert.match(failed.message, new RegExp(`OAuth token endpoint.*HTTP ${status}.*invalid_client`));
      assert.equal(api.requests.length, 0);
    }
  });

  it("takes no token from a token endpoint's answer cut short by the timeout or the size cap", async () => {
    // The answer's start holds a token; the rest never comes (form-encoded, part reads as a shorter token).
    const trickling = await receiver((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-www-form-urlencoded" });
      res.write("access_token=PARTIAL");
      const more = setInterval(() => res.write("X"), 50);
      res.on("close", () => clearInterval(more));
    });
    const huge = await receiver((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-www-form-urlencoded" });
      res.end(`access_token=${"T".repeat(70 * 1024)}`);
    });
    const api = await receiver();
    for (const [endpoint, code, retryable, message] of [
      [trickling, "TIMEOUT", true, /did not finish its answer within the timeout/],
      [huge, "NO_PERMISSIONS", false, /answered more than 64 KiB/],
    ] as const) {
      const resolved = oauthDestination(api.origin, endpoint.origin);
      // On a shared client that waits longer: the API destinations' timeout bounds the token request too.
      const client = new HttpClient({ allowedNetworks: LOOPBACK, timeoutMs: 10_000 });
      const invoker = createApiDestinationInvoker({
        client,
        timeoutMs: 500,
        resolve: () => Promise.resolve(resolved),
      });
      try {
        const started = Date.now();
        const failed = await failure(invoker.invoke(invocation(resolved.destination.arn), signal()));
        assert.equal(failed.code, code);
        assert.equal(failed.retryable, retryable);
        assert.match(failed.message, message);
        assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      } finally {
        await invoker.close();
        await client.close();
      }
    }
    assert.equal(api.requests.length, 0);
  });

  it("keeps to InvocationRateLimitPerSecond: 15 calls at 5 a second take 2.8 seconds", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/slow`, "BASIC", BASIC, {
      invocationRateLimitPerSecond: 5,
    });
    const invoker = apiInvoker(resolved);
    const started = Date.now();
    for (let i = 0; i < 15; i++) await invoker.invoke(invocation(resolved.destination.arn), signal());
    const elapsed = Date.now() - started;
    assert.equal(target.requests.length, 15);
    assert.ok(elapsed >= 2700, `15 calls took ${elapsed} ms`);
  });

  it("spaces the calls of InvocationRateLimitPerSecond evenly: ten at once at 10 a second arrive over 0.9 s", async () => {
    const arrivals: number[] = [];
    const target = await receiver((_req, res) => {
      arrivals.push(performance.now());
      res.end();
    });
    const resolved = apiDestination(`${target.origin}/spaced`, "BASIC", BASIC, {
      invocationRateLimitPerSecond: 10,
    });
    const invoker = apiInvoker(resolved);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        invoker.invoke(invocation(resolved.destination.arn, { deliveryId: `dlv_spaced_${i}` }), signal()),
      ),
    );
    assert.equal(arrivals.length, 10);
    // Turns 100 ms apart (granted a second's worth together, the ten arrived within some tens of
    // milliseconds, and the next second's within the same window of a receiver's count).
    const span = (arrivals.at(-1) as number) - (arrivals[0] as number);
    assert.ok(span >= 800, `ten calls arrived within ${Math.round(span)} ms`);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] as number));
    assert.ok(gaps.filter((gap) => gap >= 50).length >= 7, `gaps: ${gaps.map(Math.round).join(", ")}`);
  });

  it("reads the destination and its connection again once a call's turn comes: a change made meanwhile applies", async () => {
    const target = await receiver();
    const before = apiDestination(
      `${target.origin}/old`,
      "API_KEY",
      {
        ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "OLD-SECRET-KEY" },
      },
      { invocationRateLimitPerSecond: 1 },
    );
    let current: ResolvedApiDestination | undefined = before;
    const invoker = createApiDestinationInvoker({
      allowedNetworks: LOOPBACK,
      resolve: () => Promise.resolve(current),
    });
    invokers.push(invoker);
    const arn = before.destination.arn;
    await invoker.invoke(invocation(arn), signal());
    // The second call waits for its turn (a second at 1 a second); meanwhile the key and endpoint change.
    const waiting = invoker.invoke(invocation(arn), signal());
    await new Promise((resolve) => setTimeout(resolve, 200));
    current = {
      ...before,
      destination: { ...before.destination, invocationEndpoint: `${target.origin}/new` },
      auth: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "NEW-SECRET-KEY" } },
    };
    await waiting;
    assert.deepEqual(
      target.requests.map((r) => [r.url, r.headers["x-api-key"]]),
      [
        ["/old", "OLD-SECRET-KEY"],
        ["/new", "NEW-SECRET-KEY"],
      ],
    );
    // Deauthorized while a third waits: it is not made.
    const third = invoker.invoke(invocation(arn), signal());
    await new Promise((resolve) => setTimeout(resolve, 200));
    current = { ...current, connection: { ...current.connection, state: "DEAUTHORIZED" } };
    const failed = await failure(third);
    assert.equal(failed.code, "NO_PERMISSIONS");
    assert.equal(target.requests.length, 2);
  });

  it("throttles calls that would wait more than a second for their turn", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/burst`, "BASIC", BASIC, {
      invocationRateLimitPerSecond: 5,
    });
    const invoker = apiInvoker(resolved);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 15 }, () => invoker.invoke(invocation(resolved.destination.arn), signal())),
    );
    const throttled = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    // Turns 200 ms apart: those at 0 … 1000 ms are waited for, the other nine are put back.
    assert.equal(target.requests.length, 6);
    assert.equal(throttled.length, 9);
    for (const { reason } of throttled) {
      const failed = reason as Failure;
      assert.equal(failed.code, "THROTTLING");
      assert.equal(failed.retryable, true);
      assert.ok(failed.retryAfterMs !== undefined && failed.retryAfterMs > 1000, String(failed.retryAfterMs));
    }
  });

  it("reuses keep-alive connections", async () => {
    const target = await receiver();
    const resolved = apiDestination(`${target.origin}/many`, "BASIC", BASIC);
    const invoker = apiInvoker(resolved);
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 5 }, () => invoker.invoke(invocation(resolved.destination.arn), signal())),
      );
    }
    assert.equal(target.requests.length, 100);
    // undici frees a connection when the response body ends, a moment after the caller hears of
    // the response, so a round can open a few more than 5; far fewer than one per call.
    assert.ok(target.connections <= 12, `${target.connections} connections for 100 calls`);
  });
});
