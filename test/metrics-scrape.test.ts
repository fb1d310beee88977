/**
 * `GET /metrics` for one account (src/server/metrics-scrape.ts): an access key given as HTTP Basic
 * credentials (Prometheus's `basic_auth`) sees its own account's series alone, if its policies allow
 * `busbar:GetMetrics`; the server's root key and the bearer token see every account's.
 */
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import {
  callAwsJson,
  createAccount,
  createQueue,
  eventBridgeClient,
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/index.js";

const TOKEN = "operator-metrics-token-0123456789";
const DEFAULT_ACCOUNT = "000000000000";

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.accessKeyId}:${c.secretAccessKey}`).toString("base64")}`;
}

async function scrape(
  url: string,
  authorization?: string,
  gzip = false,
): Promise<{ status: number; text: string; challenge: string | null }> {
  const r = await fetch(`${url}/metrics`, {
    headers: {
      ...(authorization !== undefined && { authorization }),
      // fetch would decompress a gzip reply itself: ask for it under another name and undo it here.
      ...(gzip && { "accept-encoding": "gzip" }),
    },
  });
  const body = Buffer.from(await r.arrayBuffer());
  const zipped = r.headers.get("content-encoding") === "gzip" && body[0] === 0x1f && body[1] === 0x8b;
  return {
    status: r.status,
    text: (zipped ? gunzipSync(body) : body).toString("utf8"),
    challenge: r.headers.get("www-authenticate"),
  };
}

/** The accounts whose series a scrape shows. */
function accountsIn(text: string): Set<string> {
  return new Set([...text.matchAll(/account="(\d{12})"/g)].map((m) => m[1] as string));
}

/** Puts one event on an account's default bus, matched by a rule whose target is a queue of its own. */
async function deliverOne(url: string, accountId: string, c: Credentials): Promise<void> {
  const events = eventBridgeClient(url, c);
  await createQueue(sqsClient(url, c), "scraped");
  await events.send(new PutRuleCommand({ Name: "scraped", EventPattern: '{"source":["scrape"]}' }));
  await events.send(
    new PutTargetsCommand({
      Rule: "scraped",
      Targets: [{ Id: "q", Arn: `arn:aws:sqs:us-east-1:${accountId}:scraped` }],
    }),
  );
  const put = await events.send(
    new PutEventsCommand({ Entries: [{ Source: "scrape", DetailType: "d", Detail: "{}" }] }),
  );
  assert.equal(put.FailedEntryCount, 0);
}

for (const threads of ["0", "1"])
  describe(`GET /metrics for one account (BUSBAR_HTTP_THREADS=${threads})`, () => {
    let server: BusbarProcess;
    let team: Credentials & { accountId: string };
    let allowed: Credentials;
    let notAllowed: Credentials;

    before(async () => {
      server = await startBusbar({ env: { BUSBAR_METRICS_TOKEN: TOKEN, BUSBAR_HTTP_THREADS: threads } });
      team = await createAccount(server.url, "team", TEST_ROOT);
      const key = async (statements: object[]): Promise<Credentials> => {
        const r = await callAwsJson(
          server.url,
          "AWSEvents.CreateAccessKey",
          { Policies: [JSON.stringify({ Version: "2012-10-17", Statement: statements })] },
          team,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return {
          accessKeyId: r.body.AccessKeyId as string,
          secretAccessKey: r.body.SecretAccessKey as string,
        };
      };
      allowed = await key([
        { Effect: "Allow", Action: "busbar:GetMetrics", Resource: `arn:aws:iam::${team.accountId}:root` },
      ]);
      notAllowed = await key([{ Effect: "Allow", Action: "events:*", Resource: "*" }]);
      await deliverOne(server.url, DEFAULT_ACCOUNT, TEST_ROOT);
      await deliverOne(server.url, team.accountId, team);
      // Both deliveries made: each account has series of Invocations.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const all = await scrape(server.url, `Bearer ${TOKEN}`);
        if ((all.text.match(/^Invocations\{/gm) ?? []).length >= 2) break;
        if (Date.now() > deadline) throw new Error(`deliveries not seen in 10 s:\n${all.text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    after(async () => {
      await server.stop();
      removeDataDir(server.dataDir);
    });

    it("shows every account's series, and the node's, to the token and to the server's root key", async () => {
      for (const authorization of [`Bearer ${TOKEN}`, basic(TEST_ROOT)]) {
        const r = await scrape(server.url, authorization);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(accountsIn(r.text), new Set([DEFAULT_ACCOUNT, team.accountId]));
        assert.match(r.text, /^busbar_disk_low /m);
        assert.match(r.text, /^busbar_process_cpu_seconds_total /m);
      }
    });

    it("shows an account's key only its own account's series, and nothing of the node", async () => {
      for (const c of [team, allowed]) {
        for (const gzip of [false, true]) {
          const r = await scrape(server.url, basic(c), gzip);
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(accountsIn(r.text), new Set([team.accountId]));
          assert.match(r.text, new RegExp(`^Invocations\\{account="${team.accountId}",bus="default"`, "m"));
          assert.match(r.text, new RegExp(`^Events\\{account="${team.accountId}"`, "m"));
          assert.doesNotMatch(r.text, /busbar_process_|busbar_disk_|busbar_deliveries_resumed_total/);
          assert.doesNotMatch(r.text, new RegExp(DEFAULT_ACCOUNT));
        }
      }
    });

    it("refuses a key its policies do not allow, a wrong secret, and credentials not of the form", async () => {
      const denied = await scrape(server.url, basic(notAllowed));
      assert.equal(denied.status, 403);
      assert.match(denied.text, /is not allowed busbar:GetMetrics on arn:aws:iam::\d{12}:root/);
      assert.doesNotMatch(denied.text, /Invocations/);

      const wrong = await scrape(server.url, basic({ ...allowed, secretAccessKey: "not-its-secret-at-all" }));
      assert.equal(wrong.status, 401);
      assert.match(wrong.challenge ?? "", /^Basic realm="busbar metrics"/);
      const unknown = await scrape(
        server.url,
        basic({ accessKeyId: "BBNOSUCHKEY00000001", secretAccessKey: "x" }),
      );
      assert.equal(unknown.status, 401);
      for (const malformed of ["Basic", "Basic !!!", `Basic ${Buffer.from("no-colon").toString("base64")}`]) {
        const r = await scrape(server.url, malformed);
        assert.equal(r.status, 401, malformed);
        assert.match(r.text, /Basic must carry base64 of <access key id>:<secret access key>/);
      }
      // Without credentials, the token is needed; the refusal names both ways in.
      const none = await scrape(server.url);
      assert.equal(none.status, 401);
      assert.match(none.challenge ?? "", /Bearer realm="busbar metrics", Basic realm="busbar metrics"/);
    });
  });

describe("GET /metrics for one account, with /metrics open (no BUSBAR_METRICS_TOKEN)", () => {
  let server: BusbarProcess;

  before(async () => {
    server = await startBusbar();
  });

  after(async () => {
    await server.stop();
    removeDataDir(server.dataDir);
  });

  it("gives a key its account's series, and ignores credentials that are not a key's, as before", async () => {
    const team = await createAccount(server.url, "open", TEST_ROOT);
    await deliverOne(server.url, team.accountId, team);
    const own = await scrape(server.url, basic(team));
    assert.equal(own.status, 200);
    assert.doesNotMatch(own.text, /busbar_process_/);
    // A proxy's own Basic credentials, a wrong secret, a made-up key: the open scrape, whole.
    for (const authorization of [
      basic({ accessKeyId: "proxy-user", secretAccessKey: "proxy-password" }),
      basic({ ...team, secretAccessKey: "not-its-secret-at-all" }),
      "Basic !!!",
    ]) {
      const r = await scrape(server.url, authorization);
      assert.equal(r.status, 200, authorization);
      assert.match(r.text, /^busbar_process_cpu_seconds_total /m);
    }
  });
});
