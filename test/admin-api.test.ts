/**
 * Accounts and access keys on a running server: Busbar's own operations (CreateAccount, ListAccounts,
 * CreateAccessKey, ListAccessKeys, DeleteAccessKey) through signed AWS JSON requests, and
 * `busbar accounts|keys --endpoint URL` run as a real process against a real `busbar serve`. Who may
 * do what (the default account's root key, an account's root key, keys with policies), and the bad
 * inputs. And the signing secrets of webhook targets through `busbar targets … --endpoint URL`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeEventBusCommand,
  ListEventBusesCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import {
  callAwsJson,
  createQueue,
  eventBridgeClient,
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
  printedJson,
  runBusbar,
  type CliRun,
} from "./support/index.js";

const dir = mkdtempSync(join(tmpdir(), "busbar-admin-"));
const DEFAULT_ACCOUNT = "000000000000";
let server: BusbarProcess;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Runs `busbar …` as a process with these AWS credentials in its environment. */
function busbar(credentials: Partial<Credentials>, ...args: string[]): CliRun {
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, BUSBAR_ENDPOINT: _e, ...env } = process.env;
  return runBusbar(args, {
    env: {
      ...env,
      ...(credentials.accessKeyId !== undefined && { AWS_ACCESS_KEY_ID: credentials.accessKeyId }),
      ...(credentials.secretAccessKey !== undefined && {
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      }),
    },
  });
}

/** Runs `busbar … --endpoint <the test server>`. */
const onServer = (credentials: Partial<Credentials>, ...args: string[]) =>
  busbar(credentials, ...args, "--endpoint", server.url);

function policyFile(name: string, statements: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ Version: "2012-10-17", Statement: statements }));
  return path;
}

/** Calls one of Busbar's own operations as `credentials`. */
const call = (op: string, input: object, credentials: Credentials = TEST_ROOT) =>
  callAwsJson(server.url, `AWSEvents.${op}`, input, credentials);

async function rejected(
  op: string,
  input: object,
  credentials: Credentials,
  type: string,
  message?: RegExp,
): Promise<void> {
  const r = await call(op, input, credentials);
  assert.equal(r.body.__type, type, JSON.stringify(r.body));
  assert.equal(r.status, 400);
  if (message !== undefined) assert.match(String(r.body.message), message);
}

before(async () => {
  // Keys are looked up afresh on every request, so that a deleted key stops at once.
  server = await startBusbar({ env: { BUSBAR_KEY_CACHE_MS: "0" } });
});
after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("busbar accounts|keys --endpoint (a running server)", () => {
  it("creates an account whose root key works with the SDK, and lists it", async () => {
    const b = printedJson<{ accountId: string; name: string } & Credentials>(
      onServer(TEST_ROOT, "accounts", "create", "--name", "team-remote"),
    );
    assert.match(b.accountId, /^\d{12}$/);
    assert.equal(b.name, "team-remote");
    const eb = eventBridgeClient(server.url, b);
    const buses = await eb.send(new ListEventBusesCommand({}));
    assert.deepEqual(
      buses.EventBuses?.map((x) => x.Arn),
      [`arn:aws:events:us-east-1:${b.accountId}:event-bus/default`],
    );
    // The new account's bus takes rules at once, and its events reach their targets.
    const sqs = sqsClient(server.url, b);
    const queueUrl = await createQueue(sqs, "inbox");
    await eb.send(new PutRuleCommand({ Name: "all", EventPattern: '{"source":["team"]}' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: "all",
        Targets: [{ Id: "q", Arn: `arn:aws:sqs:us-east-1:${b.accountId}:inbox` }],
      }),
    );
    const put = await eb.send(
      new PutEventsCommand({ Entries: [{ Source: "team", DetailType: "t", Detail: '{"n":1}' }] }),
    );
    assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.Entries));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 }));
    const delivered = JSON.parse(got.Messages?.[0]?.Body ?? "{}") as { id?: string; account?: string };
    assert.equal(delivered.id, put.Entries?.[0]?.EventId);
    assert.equal(delivered.account, b.accountId);
    sqs.destroy();
    eb.destroy();
    const listed = printedJson<Array<{ accountId: string; name: string; createdAt: string }>>(
      onServer(TEST_ROOT, "accounts", "list"),
    );
    const mine = listed.find((a) => a.accountId === b.accountId);
    assert.equal(mine?.name, "team-remote");
    assert.ok(Math.abs(Date.parse(mine.createdAt) - Date.now()) < 60_000, mine.createdAt);
    assert.ok(listed.some((a) => a.accountId === DEFAULT_ACCOUNT));
  });

  it("creates a key limited by its policy, lists it without its secret, and deletes it", async () => {
    const policy = policyFile("put-only.json", [
      { Effect: "Allow", Action: "events:PutEvents", Resource: "*" },
      { Effect: "Allow", Action: "events:Describe*", Resource: "*" },
    ]);
    const key = printedJson<{ accountId: string; policies: number } & Credentials>(
      onServer(TEST_ROOT, "keys", "create", "--account", DEFAULT_ACCOUNT, "--policy", policy),
    );
    assert.equal(key.accountId, DEFAULT_ACCOUNT);
    assert.equal(key.policies, 1);
    const eb = eventBridgeClient(server.url, key);
    const put = await eb.send(
      new PutEventsCommand({ Entries: [{ Source: "remote", DetailType: "t", Detail: "{}" }] }),
    );
    assert.equal(put.FailedEntryCount, 0);
    await assert.rejects(eb.send(new PutRuleCommand({ Name: "nope", EventPattern: '{"source":["x"]}' })), {
      name: "AccessDeniedException",
    });

    const listed = onServer(TEST_ROOT, "keys", "list", "--account", DEFAULT_ACCOUNT);
    const keys = printedJson<Array<{ accessKeyId: string; root: boolean; policies: unknown[] }>>(listed);
    const mine = keys.find((k) => k.accessKeyId === key.accessKeyId);
    assert.equal(mine?.root, false);
    assert.deepEqual(mine.policies[0], {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "events:PutEvents", Resource: "*" },
        { Effect: "Allow", Action: "events:Describe*", Resource: "*" },
      ],
    });
    assert.ok(keys.some((k) => k.accessKeyId === TEST_ROOT.accessKeyId && k.root));
    assert.ok(!listed.stdout.includes(key.secretAccessKey), "no secret in the listing");
    assert.ok(!listed.stdout.includes(TEST_ROOT.secretAccessKey), "no root secret in the listing");

    assert.deepEqual(printedJson(onServer(TEST_ROOT, "keys", "delete", key.accessKeyId)), {
      deleted: key.accessKeyId,
    });
    await assert.rejects(eb.send(new DescribeEventBusCommand({})), { name: "UnrecognizedClientException" });
    eb.destroy();
    const again = onServer(TEST_ROOT, "keys", "delete", key.accessKeyId);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /ResourceNotFoundException: access key \w+ does not exist/);
  });

  it("reports what the server refuses, and what keeps it from being called, with exit code 2", () => {
    const bad = policyFile("bad.json", [{ Effect: "Maybe", Action: "events:*", Resource: "*" }]);
    const malformed = onServer(TEST_ROOT, "keys", "create", "--account", DEFAULT_ACCOUNT, "--policy", bad);
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /ValidationException: policy 1: .*Effect/);

    const wrongSecret = onServer(
      { accessKeyId: TEST_ROOT.accessKeyId, secretAccessKey: "not-the-secret-0000000000000000000000000" },
      "accounts",
      "list",
    );
    assert.equal(wrongSecret.status, 2);
    assert.match(wrongSecret.stderr, /signature/i);
    assert.ok(!wrongSecret.stderr.includes("not-the-secret"), "the secret is not echoed");

    const noCredentials = onServer({}, "accounts", "list");
    assert.equal(noCredentials.status, 2);
    assert.match(noCredentials.stderr, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);

    const notUrl = busbar(TEST_ROOT, "accounts", "list", "--endpoint", "localhost-8380");
    assert.equal(notUrl.status, 2);
    assert.match(notUrl.stderr, /--endpoint must be a URL/);

    // A data directory that is none (a typo): refused, and nothing is made there.
    const typo = `${server.dataDir}-typo`;
    const wrong = busbar({}, "keys", "list", "--data-dir", typo);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /is not a Busbar data directory/);
    assert.equal(existsSync(typo), false);
    const both = busbar(TEST_ROOT, "keys", "list", "--endpoint", server.url, "--data-dir", server.dataDir);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--data-dir or --endpoint, not both/);
  });

  it("says so when nothing listens at the endpoint, a failure (exit 1), not a refusal", async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = busbar(TEST_ROOT, "accounts", "list", "--endpoint", `http://127.0.0.1:${port}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach http://127.0.0.1:${port}`));
  });
});

describe("who may manage accounts and keys", () => {
  let team: Credentials & { AccountId: string };
  before(async () => {
    const r = await call("CreateAccount", { Name: "team-c" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    team = {
      AccountId: r.body.AccountId as string,
      accessKeyId: r.body.AccessKeyId as string,
      secretAccessKey: r.body.SecretAccessKey as string,
    };
  });

  it("an account's root key manages the keys of its own account and nothing else", async () => {
    const own = await call("CreateAccessKey", {}, team);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(own.body.AccountId, team.AccountId);
    const listed = await call("ListAccessKeys", {}, team);
    const ids = (listed.body.AccessKeys as Array<{ AccessKeyId: string; AccountId: string }>).map(
      (k) => k.AccessKeyId,
    );
    assert.deepEqual(new Set(ids), new Set([team.accessKeyId, own.body.AccessKeyId]));
    assert.ok(!JSON.stringify(listed.body).includes(team.secretAccessKey), "no secret in the listing");

    await rejected("CreateAccount", {}, team, "AccessDeniedException", /busbar:CreateAccount/);
    await rejected("ListAccounts", {}, team, "AccessDeniedException", /busbar:ListAccounts/);
    await rejected("CreateAccessKey", { AccountId: DEFAULT_ACCOUNT }, team, "AccessDeniedException");
    await rejected("ListAccessKeys", { AccountId: DEFAULT_ACCOUNT }, team, "AccessDeniedException");
    // Another account's key is not there for it: the same answer as a key that does not exist.
    await rejected(
      "DeleteAccessKey",
      { AccessKeyId: TEST_ROOT.accessKeyId },
      team,
      "ResourceNotFoundException",
    );
    const eb = eventBridgeClient(server.url, TEST_ROOT);
    await eb.send(new DescribeEventBusCommand({})); // the root key still works
    eb.destroy();
    const deleted = await call("DeleteAccessKey", { AccessKeyId: own.body.AccessKeyId }, team);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  });

  it("the default account's root key manages every account's keys", async () => {
    const created = await call("CreateAccessKey", { AccountId: team.AccountId });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const listed = await call("ListAccessKeys", { AccountId: team.AccountId });
    assert.ok(
      (listed.body.AccessKeys as Array<{ AccessKeyId: string }>).some(
        (k) => k.AccessKeyId === created.body.AccessKeyId,
      ),
    );
    const deleted = await call("DeleteAccessKey", { AccessKeyId: created.body.AccessKeyId });
    assert.equal(deleted.status, 200);
  });

  it("other keys may do what their policies allow, on the account their policies name", async () => {
    const make = async (statements: object[]): Promise<Credentials> => {
      const r = await call("CreateAccessKey", {
        Policies: [JSON.stringify({ Version: "2012-10-17", Statement: statements })],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return { accessKeyId: r.body.AccessKeyId as string, secretAccessKey: r.body.SecretAccessKey as string };
    };
    const lister = await make([
      { Effect: "Allow", Action: "busbar:List*", Resource: `arn:aws:iam::${DEFAULT_ACCOUNT}:root` },
    ]);
    assert.equal((await call("ListAccessKeys", {}, lister)).status, 200);
    assert.equal((await call("ListAccounts", {}, lister)).status, 200);
    await rejected("CreateAccessKey", {}, lister, "AccessDeniedException", /busbar:CreateAccessKey/);
    await rejected("DeleteAccessKey", { AccessKeyId: lister.accessKeyId }, lister, "AccessDeniedException");
    // Its account's policies never reach into another account.
    await rejected("ListAccessKeys", { AccountId: team.AccountId }, lister, "AccessDeniedException");

    const operator = await make([{ Effect: "Allow", Action: "busbar:CreateAccount", Resource: "*" }]);
    const made = await call("CreateAccount", { Name: "by-operator" }, operator);
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const denied = await make([
      { Effect: "Allow", Action: "busbar:*", Resource: "*" },
      { Effect: "Deny", Action: "busbar:CreateAccount", Resource: "*" },
    ]);
    await rejected("CreateAccount", {}, denied, "AccessDeniedException");

    // Allowed everything, a key still cannot delete a root key: only a root key can.
    const admin = await make([{ Effect: "Allow", Action: "*", Resource: "*" }]);
    await rejected(
      "DeleteAccessKey",
      { AccessKeyId: TEST_ROOT.accessKeyId },
      admin,
      "AccessDeniedException",
      /only a root key may delete the root key/,
    );
    assert.equal((await call("ListAccounts", {})).status, 200, "the root key still works");
    const other = await make([{ Effect: "Allow", Action: "events:List*", Resource: "*" }]);
    assert.equal((await call("DeleteAccessKey", { AccessKeyId: other.accessKeyId }, admin)).status, 200);
  });
});

describe("ListAccounts and ListAccessKeys page", () => {
  /** Every page of a listing with `Limit`, checking that only the last page lacks a NextToken. */
  async function pages(op: string, member: string, input: object, limit: number): Promise<string[][]> {
    const out: string[][] = [];
    let token: unknown;
    do {
      const r = await call(op, { ...input, Limit: limit, ...(token !== undefined && { NextToken: token }) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const items = r.body[member] as Array<{ AccountId: string; AccessKeyId?: string }>;
      assert.ok(items.length <= limit, `${items.length} items on a page of ${limit}`);
      out.push(items.map((i) => i.AccessKeyId ?? i.AccountId));
      token = r.body.NextToken;
      if (token !== undefined) assert.equal(items.length, limit, "only the last page is short");
    } while (token !== undefined);
    return out;
  }

  it("in id order, every item once, and `busbar … list --endpoint` reads every page", async () => {
    // More accounts than one page of 100 holds, so that the CLI must follow NextToken.
    const before = (await call("ListAccounts", {})).body.Accounts as unknown[];
    for (let i = before.length; i <= 101; i++) {
      assert.equal((await call("CreateAccount", { Name: `paged-${i}` })).status, 200);
    }
    const all = ((await call("ListAccounts", {})).body.Accounts as Array<{ AccountId: string }>).map(
      (a) => a.AccountId,
    );
    assert.equal(all.length, 100, "a page holds 100 without Limit");
    const paged = await pages("ListAccounts", "Accounts", {}, 7);
    const flat = paged.flat();
    assert.ok(flat.length >= 102, String(flat.length));
    assert.deepEqual(flat, [...flat].sort(), "id order");
    assert.equal(new Set(flat).size, flat.length, "no account twice");
    assert.deepEqual(flat.slice(0, 100), all);
    const listed = printedJson<Array<{ accountId: string }>>(onServer(TEST_ROOT, "accounts", "list"));
    assert.deepEqual(
      listed.map((a) => a.accountId),
      flat,
    );
    // On the data directory, the command walks the store's own pages.
    const fromStore = printedJson<Array<{ accountId: string }>>(
      busbar({}, "accounts", "list", "--data-dir", server.dataDir),
    );
    assert.deepEqual(
      fromStore.map((a) => a.accountId),
      flat,
    );

    const team = (await call("CreateAccount", { Name: "paged-keys" })).body;
    for (let i = 0; i < 4; i++)
      assert.equal((await call("CreateAccessKey", { AccountId: team.AccountId })).status, 200);
    const keyPages = await pages("ListAccessKeys", "AccessKeys", { AccountId: team.AccountId }, 2);
    assert.deepEqual(
      keyPages.map((p) => p.length),
      [2, 2, 1],
      "the root key and four more",
    );
    const keys = printedJson<Array<{ accessKeyId: string }>>(
      onServer(TEST_ROOT, "keys", "list", "--account", String(team.AccountId)),
    );
    assert.deepEqual(
      keys.map((k) => k.accessKeyId),
      keyPages.flat(),
    );
    const keysFromStore = printedJson<Array<{ accessKeyId: string }>>(
      busbar({}, "keys", "list", "--account", String(team.AccountId), "--data-dir", server.dataDir),
    );
    assert.deepEqual(
      keysFromStore.map((k) => k.accessKeyId),
      keyPages.flat(),
    );
  });

  it("refuses a Limit out of range and a NextToken it did not issue", async () => {
    await rejected("ListAccounts", { Limit: 0 }, TEST_ROOT, "ValidationException", /limit/i);
    await rejected("ListAccounts", { Limit: 101 }, TEST_ROOT, "ValidationException", /limit/i);
    await rejected("ListAccounts", { Limit: "2" }, TEST_ROOT, "SerializationException", /limit/i);
    await rejected(
      "ListAccounts",
      { NextToken: "not a token!" },
      TEST_ROOT,
      "ValidationException",
      /nextToken/i,
    );
    await rejected("ListAccounts", { NextToken: "" }, TEST_ROOT, "ValidationException", /nextToken/i);
    // A token of ListAccessKeys names a key, not an account (the default account has two keys or more).
    assert.equal((await call("CreateAccessKey", {})).status, 200);
    const keyToken = (await call("ListAccessKeys", { AccountId: DEFAULT_ACCOUNT, Limit: 1 })).body.NextToken;
    assert.equal(typeof keyToken, "string");
    await rejected("ListAccounts", { NextToken: keyToken }, TEST_ROOT, "ValidationException", /nextToken/i);
    const accountToken = (await call("ListAccounts", { Limit: 1 })).body.NextToken;
    assert.equal(typeof accountToken, "string");
    await rejected(
      "ListAccessKeys",
      { NextToken: `${String(accountToken)}x` },
      TEST_ROOT,
      "ValidationException",
      /nextToken/i,
    );
  });
});

describe("bad input to the account and key operations", () => {
  const policy = (statement: object) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
  const allowAll = policy({ Effect: "Allow", Action: "events:*", Resource: "*" });

  it("each gets the documented error type and names what is wrong", async () => {
    await rejected("CreateAccount", { AccountId: "123" }, TEST_ROOT, "ValidationException", /accountId/);
    await rejected(
      "CreateAccount",
      { AccountId: DEFAULT_ACCOUNT },
      TEST_ROOT,
      "ResourceAlreadyExistsException",
    );
    await rejected("CreateAccount", { Name: "n".repeat(51) }, TEST_ROOT, "ValidationException", /name/);
    await rejected(
      "CreateAccount",
      { Name: 7 },
      TEST_ROOT,
      "SerializationException",
      /Name must be a string/,
    );
    await rejected(
      "CreateAccessKey",
      { Policies: [policy({ Effect: "Maybe", Action: "events:*", Resource: "*" })] },
      TEST_ROOT,
      "ValidationException",
      /policy 1: .*Effect/,
    );
    await rejected(
      "CreateAccessKey",
      { Policies: [allowAll, "{not json"] },
      TEST_ROOT,
      "ValidationException",
      /policy 2/,
    );
    await rejected("CreateAccessKey", { Policies: allowAll }, TEST_ROOT, "SerializationException", /list/);
    await rejected(
      "CreateAccessKey",
      { Policies: [{}] },
      TEST_ROOT,
      "SerializationException",
      /Policies\[0\]/,
    );
    await rejected(
      "CreateAccessKey",
      { Policies: Array.from({ length: 11 }, () => allowAll) },
      TEST_ROOT,
      "ValidationException",
      /policies/,
    );
    await rejected(
      "CreateAccessKey",
      { Policies: [allowAll.replace('"*"}', `"${"*".repeat(6200)}"}`)] },
      TEST_ROOT,
      "ValidationException",
      /longer than 6144/,
    );
    await rejected(
      "CreateAccessKey",
      { AccountId: "999999999999" },
      TEST_ROOT,
      "ResourceNotFoundException",
      /999999999999/,
    );
    await rejected("ListAccessKeys", { AccountId: "12345678901x" }, TEST_ROOT, "ValidationException");
    await rejected(
      "ListAccessKeys",
      { AccountId: "999999999999" },
      TEST_ROOT,
      "ResourceNotFoundException",
      /account 999999999999 does not exist/,
    );
    await rejected("DeleteAccessKey", {}, TEST_ROOT, "ValidationException", /accessKeyId/);
    await rejected(
      "DeleteAccessKey",
      { AccessKeyId: "BBNOSUCHKEY000000000" },
      TEST_ROOT,
      "ResourceNotFoundException",
    );
    await rejected("DeleteAccessKey", { AccessKeyId: "bad id!" }, TEST_ROOT, "ValidationException");
  });
});

describe("busbar targets describe-signing-secrets|rotate-signing-secret --endpoint", () => {
  const target = ["--rule", "hooks", "--target-id", "hook"];
  type Secrets = { Secrets: Array<{ Secret: string; CreatedAt: number; ExpiresAt?: number }> };
  before(async () => {
    const eb = eventBridgeClient(server.url);
    await eb.send(new PutRuleCommand({ Name: "hooks", EventPattern: '{"source":["hooks"]}' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: "hooks",
        Targets: [
          { Id: "hook", Arn: "https://hooks.example.com/in" },
          { Id: "bus", Arn: `arn:aws:events:us-east-1:${DEFAULT_ACCOUNT}:event-bus/elsewhere` },
        ],
      }),
    );
    eb.destroy();
  });

  it("prints the target's secrets, and rotates them with or without a grace period", () => {
    const first = printedJson<Secrets>(onServer(TEST_ROOT, "targets", "describe-signing-secrets", ...target));
    assert.equal(first.Secrets.length, 1);
    const [original] = first.Secrets;
    assert.match(original?.Secret ?? "", /^whsec_[A-Za-z0-9+/=]+$/);

    const rotated = printedJson<Secrets>(onServer(TEST_ROOT, "targets", "rotate-signing-secret", ...target));
    const now = rotated.Secrets.map((s) => s.Secret);
    assert.equal(now.length, 2);
    assert.ok(now.includes(original?.Secret ?? ""), "the previous secret signs on");
    const previous = rotated.Secrets.find((s) => s.Secret === original?.Secret);
    const day = Date.now() / 1000 + 86_400;
    assert.ok(Math.abs((previous?.ExpiresAt ?? 0) - day) < 60, JSON.stringify(previous));

    const chosen = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    const replaced = printedJson<Secrets>(
      onServer(
        TEST_ROOT,
        "targets",
        "rotate-signing-secret",
        ...target,
        "--secret",
        chosen,
        "--previous-expires-in",
        "0",
      ),
    );
    assert.deepEqual(
      replaced.Secrets.map((s) => s.Secret),
      [chosen],
    );
    const described = printedJson<Secrets>(
      onServer(TEST_ROOT, "targets", "describe-signing-secrets", ...target),
    );
    assert.deepEqual(
      described.Secrets.map((s) => s.Secret),
      [chosen],
    );

    // From a file, so that it is in no process listing; the line break that ends it is not part of it.
    const filed = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
    const file = join(dir, "signing-secret");
    writeFileSync(file, `${filed}\n`, { mode: 0o600 });
    const fromFile = printedJson<Secrets>(
      onServer(TEST_ROOT, "targets", "rotate-signing-secret", ...target, "--secret-file", file),
    );
    assert.ok(
      fromFile.Secrets.some((s) => s.Secret === filed),
      JSON.stringify(fromFile),
    );
  });

  it("reports a missing server, target or bad value with exit code 2", () => {
    const noServer = busbar(
      TEST_ROOT,
      "targets",
      "describe-signing-secrets",
      "--rule",
      "hooks",
      "--target-id",
      "hook",
    );
    assert.equal(noServer.status, 2);
    assert.match(noServer.stderr, /--endpoint URL or set BUSBAR_ENDPOINT/);
    const hook = ["--rule", "hooks", "--target-id", "hook"];
    for (const [args, message] of [
      [
        ["describe-signing-secrets", "--rule", "hooks", "--target-id", "nope"],
        /ResourceNotFoundException: Target nope does not exist on rule hooks/,
      ],
      [
        ["describe-signing-secrets", "--rule", "hooks", "--target-id", "bus"],
        /ValidationException: Target bus is not a webhook/,
      ],
      [
        ["rotate-signing-secret", ...hook, "--secret", "hunter2"],
        /ValidationException: Parameter Secret is not valid/,
      ],
      [
        ["rotate-signing-secret", ...hook, "--previous-expires-in", "soon"],
        /--previous-expires-in must be a whole number of seconds/,
      ],
      [["rotate-signing-secret", ...hook, "--previous-expires-in", "604801"], /ValidationException/],
      [
        ["rotate-signing-secret", ...hook, "--secret-file", join(dir, "no-such-file")],
        /cannot read --secret-file .*no-such-file: ENOENT/,
      ],
      [
        ["rotate-signing-secret", ...hook, "--secret", "x", "--secret-file", join(dir, "no-such-file")],
        /give --secret or --secret-file, not both/,
      ],
    ] as const) {
      const r = onServer(TEST_ROOT, "targets", ...args);
      assert.equal(r.status, 2, args.join(" "));
      assert.match(r.stderr, message);
    }
  });
});

describe("a key deleted through the API stops at once, although keys are kept for 5 s", () => {
  /** A new key of the default account (with these policies), and its deletion by the root key. */
  const keyOn = async (url: string, policies: object[] = []) => {
    const made = await callAwsJson(
      url,
      "AWSEvents.CreateAccessKey",
      { Policies: policies.map((p) => JSON.stringify(p)) },
      TEST_ROOT,
    );
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const key = {
      accessKeyId: made.body.AccessKeyId as string,
      secretAccessKey: made.body.SecretAccessKey as string,
    };
    const remove = async (): Promise<void> => {
      const deleted = await callAwsJson(
        url,
        "AWSEvents.DeleteAccessKey",
        { AccessKeyId: key.accessKeyId },
        TEST_ROOT,
      );
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    };
    return { key, remove };
  };
  for (const layout of [{}, { BUSBAR_HTTP_THREADS: "1" }]) {
    it(`with ${layout.BUSBAR_HTTP_THREADS === "1" ? "the front thread" : "HTTP on the main thread"}`, async () => {
      const node = await startBusbar({ env: layout });
      try {
        const { key, remove } = await keyOn(node.url);
        // Used once, so that both the front thread and the main thread keep it.
        const used = await callAwsJson(node.url, "AWSEvents.ListAccessKeys", {}, key);
        assert.equal(used.body.__type, "AccessDeniedException", JSON.stringify(used.body));
        await remove();
        const after = await callAwsJson(node.url, "AWSEvents.ListAccessKeys", {}, key);
        assert.equal(after.body.__type, "UnrecognizedClientException", JSON.stringify(after.body));
      } finally {
        await node.stop();
        removeDataDir(node.dataDir);
      }
    });

    it(`and its long poll already waiting takes nothing sent after (${layout.BUSBAR_HTTP_THREADS === "1" ? "the front thread" : "HTTP on the main thread"})`, async () => {
      const node = await startBusbar({ env: layout });
      const root = sqsClient(node.url);
      try {
        const queueUrl = await createQueue(root, "revoked-poll");
        const { key, remove } = await keyOn(node.url, [
          {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sqs:ReceiveMessage", Resource: "*" }],
          },
        ]);
        const poller = sqsClient(node.url, key);
        const poll = poller.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 })).then(
          (r) => r,
          (e: Error) => e,
        );
        await new Promise((resolve) => setTimeout(resolve, 500)); // waiting by now
        await remove();
        await root.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "sent-after-key-deleted" }),
        );
        const answer = await poll;
        assert.ok(answer instanceof Error, `the revoked key's poll got ${JSON.stringify(answer)}`);
        assert.equal(answer.name, "InvalidClientTokenId");
        poller.destroy();
        // The message was not hidden by it: the queue's own consumers get it at once.
        const got = await root.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
        assert.deepEqual(
          got.Messages?.map((m) => m.Body),
          ["sent-after-key-deleted"],
        );
      } finally {
        root.destroy();
        await node.stop();
        removeDataDir(node.dataDir);
      }
    });
  }
});
