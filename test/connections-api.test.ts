/**
 * Connections and API destinations of a real `busbar serve`, driven by the AWS SDK for JavaScript v3:
 * every operation and authorization type, secrets never answered and never on disk in plain text,
 * UpdateConnection merging, DeauthorizeConnection, paging, errors by name, and a restart that keeps
 * connections usable.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConnectionAuthorizationType, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeauthorizeConnectionCommand,
  DeleteApiDestinationCommand,
  DeleteConnectionCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  ListApiDestinationsCommand,
  ListConnectionsCommand,
  UpdateApiDestinationCommand,
  UpdateConnectionCommand,
  type CreateConnectionCommandInput,
} from "@aws-sdk/client-eventbridge";
import { openSecretBox, readAuthParameters } from "../src/delivery/index.js";
import { openSqliteStore } from "../src/store/index.js";
import {
  eventBridgeClient,
  removeDataDir,
  startBusbar,
  type BusbarProcess,
} from "./support/busbar-process.js";
import { printedJson, runBusbar } from "./support/index.js";

const ACCOUNT = "000000000000";
const CONNECTION_ARN = new RegExp(`^arn:aws:events:us-east-1:${ACCOUNT}:connection/[\\w.-]+/[0-9a-f-]{36}$`);
const DESTINATION_ARN = new RegExp(
  `^arn:aws:events:us-east-1:${ACCOUNT}:api-destination/[\\w.-]+/[0-9a-f-]{36}$`,
);

/** Secrets the tests give: each must never come back, nor be found on disk in plain text. */
const SECRET = {
  password: "pw-3f9c1a77-never-echo",
  newPassword: "pw-8d2e44b0-rotated",
  apiKey: "key-51b0c2de-never-echo",
  clientSecret: "cs-a4e09f13-never-echo",
  header: "hdr-7c31d5e2-never-echo",
  query: "qry-0be96a48-never-echo",
  body: "body-e2f7c019-never-echo",
} as const;

let server: BusbarProcess;
let eb: EventBridgeClient;

async function rejects(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

function basic(name: string, extra: Partial<CreateConnectionCommandInput> = {}): CreateConnectionCommand {
  return new CreateConnectionCommand({
    Name: name,
    AuthorizationType: "BASIC",
    AuthParameters: { BasicAuthParameters: { Username: "alice", Password: SECRET.password } },
    ...extra,
  });
}

/** Every file of a directory tree, as bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .map((path) => ({ path, bytes: readFileSync(path) }));
}

before(async () => {
  server = await startBusbar();
  eb = eventBridgeClient(server.url);
});

after(async () => {
  eb.destroy();
  assert.equal(await server.stop(), 0, "SIGTERM drains and exits 0");
  removeDataDir(server.dataDir);
});

describe("CreateConnection and DescribeConnection", () => {
  it("creates a BASIC connection, AUTHORIZED, and describes it without the password", async () => {
    const created = await eb.send(basic("basic-1", { Description: "a basic one" }));
    assert.match(created.ConnectionArn ?? "", CONNECTION_ARN);
    assert.ok(created.ConnectionArn?.includes(":connection/basic-1/"));
    assert.equal(created.ConnectionState, "AUTHORIZED");
    assert.ok(created.CreationTime instanceof Date);
    assert.ok(created.LastModifiedTime instanceof Date);
    const d = await eb.send(new DescribeConnectionCommand({ Name: "basic-1" }));
    assert.equal(d.ConnectionArn, created.ConnectionArn);
    assert.equal(d.Name, "basic-1");
    assert.equal(d.Description, "a basic one");
    assert.equal(d.AuthorizationType, "BASIC");
    assert.equal(d.ConnectionState, "AUTHORIZED");
    assert.deepEqual(d.AuthParameters, { BasicAuthParameters: { Username: "alice" } });
    assert.ok(d.LastAuthorizedTime instanceof Date);
    assert.ok(!JSON.stringify(d).includes(SECRET.password));
  });

  it("creates an API_KEY connection and answers only the key's name", async () => {
    const created = await eb.send(
      new CreateConnectionCommand({
        Name: "api-key-1",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: SECRET.apiKey } },
      }),
    );
    assert.equal(created.ConnectionState, "AUTHORIZED");
    const d = await eb.send(new DescribeConnectionCommand({ Name: "api-key-1" }));
    assert.deepEqual(d.AuthParameters, { ApiKeyAuthParameters: { ApiKeyName: "x-api-key" } });
    assert.ok(!JSON.stringify(d).includes(SECRET.apiKey));
  });

  it("creates an OAUTH_CLIENT_CREDENTIALS connection, AUTHORIZED, without the client secret", async () => {
    const created = await eb.send(
      new CreateConnectionCommand({
        Name: "oauth-1",
        AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
        AuthParameters: {
          OAuthParameters: {
            AuthorizationEndpoint: "https://auth.example.com/oauth/token",
            HttpMethod: "POST",
            ClientParameters: { ClientID: "client-1", ClientSecret: SECRET.clientSecret },
            OAuthHttpParameters: {
              BodyParameters: [{ Key: "scope", Value: "events", IsValueSecret: false }],
              HeaderParameters: [{ Key: "x-tenant", Value: SECRET.header, IsValueSecret: true }],
            },
          },
        },
      }),
    );
    assert.equal(created.ConnectionState, "AUTHORIZED");
    const d = await eb.send(new DescribeConnectionCommand({ Name: "oauth-1" }));
    assert.deepEqual(d.AuthParameters, {
      OAuthParameters: {
        AuthorizationEndpoint: "https://auth.example.com/oauth/token",
        HttpMethod: "POST",
        ClientParameters: { ClientID: "client-1" },
        OAuthHttpParameters: {
          BodyParameters: [{ Key: "scope", Value: "events", IsValueSecret: false }],
          HeaderParameters: [{ Key: "x-tenant", IsValueSecret: true }],
        },
      },
    });
    const text = JSON.stringify(d);
    assert.ok(!text.includes(SECRET.clientSecret) && !text.includes(SECRET.header));
  });

  it("answers an invocation parameter's value only when IsValueSecret is false (absent counts as secret)", async () => {
    await eb.send(
      basic("invocation-1", {
        AuthParameters: {
          BasicAuthParameters: { Username: "alice", Password: SECRET.password },
          InvocationHttpParameters: {
            HeaderParameters: [
              { Key: "Content-Type", Value: "application/json", IsValueSecret: false },
              { Key: "x-secret", Value: SECRET.header, IsValueSecret: true },
            ],
            QueryStringParameters: [{ Key: "token", Value: SECRET.query }],
            BodyParameters: [{ Key: "signature", Value: SECRET.body }],
          },
        },
      }),
    );
    const d = await eb.send(new DescribeConnectionCommand({ Name: "invocation-1" }));
    assert.deepEqual(d.AuthParameters?.InvocationHttpParameters, {
      HeaderParameters: [
        { Key: "Content-Type", Value: "application/json", IsValueSecret: false },
        { Key: "x-secret", IsValueSecret: true },
      ],
      QueryStringParameters: [{ Key: "token", IsValueSecret: true }],
      BodyParameters: [{ Key: "signature", IsValueSecret: true }],
    });
  });

  it("refuses a second connection of the same name", async () => {
    await eb.send(basic("dup-1"));
    await rejects(eb.send(basic("dup-1")), "ResourceAlreadyExistsException", /dup-1/);
  });

  it("answers ResourceNotFoundException for a connection that does not exist", async () => {
    await rejects(
      eb.send(new DescribeConnectionCommand({ Name: "nope" })),
      "ResourceNotFoundException",
      /Connection 'nope' does not exist/,
    );
  });

  it("validates the name and the authorization type", async () => {
    await rejects(eb.send(basic("has spaces!")), "ValidationException", /at 'name'.*regular expression/);
    await rejects(eb.send(basic("x".repeat(65))), "ValidationException", /length less than or equal to 64/);
    await rejects(
      eb.send(basic("bad-type", { AuthorizationType: "DIGEST" as ConnectionAuthorizationType })),
      "ValidationException",
      /'DIGEST' at 'authorizationType'.*enum value set: \[BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY\]/,
    );
  });

  it("requires the AuthParameters of the type, complete, and no other type's", async () => {
    await rejects(
      eb.send(
        new CreateConnectionCommand({
          Name: "no-auth",
          AuthorizationType: "BASIC",
          AuthParameters: undefined,
        }),
      ),
      "ValidationException",
      /at 'authParameters'.*must not be null/,
    );
    await rejects(
      eb.send(
        basic("no-password", {
          AuthParameters: { BasicAuthParameters: { Username: "alice", Password: undefined } },
        }),
      ),
      "ValidationException",
      /at 'authParameters\.basicAuthParameters\.password'.*must not be null/,
    );
    await rejects(
      eb.send(
        basic("wrong-type", {
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" } },
        }),
      ),
      "ValidationException",
      /ApiKeyAuthParameters.*BASIC/,
    );
    await rejects(
      eb.send(
        basic("two-types", {
          AuthParameters: {
            BasicAuthParameters: { Username: "alice", Password: SECRET.password },
            ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" },
          },
        }),
      ),
      "ValidationException",
      /ApiKeyAuthParameters/,
    );
    await rejects(
      eb.send(
        new CreateConnectionCommand({
          Name: "oauth-incomplete",
          AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
          AuthParameters: {
            OAuthParameters: {
              AuthorizationEndpoint: "https://auth.example.com/token",
              HttpMethod: "POST",
              ClientParameters: undefined,
            },
          },
        }),
      ),
      "ValidationException",
      /authParameters\.oAuthParameters\.clientParameters/,
    );
  });

  it("checks each member against its constraint, never quoting a secret", async () => {
    const badPassword = `${SECRET.password}:with-a-colon`;
    await assert.rejects(
      eb.send(
        basic("colon", { AuthParameters: { BasicAuthParameters: { Username: "a", Password: badPassword } } }),
      ),
      (e: Error) => {
        assert.equal(e.name, "ValidationException");
        assert.match(e.message, /authParameters\.basicAuthParameters\.password/);
        assert.ok(!e.message.includes(SECRET.password), "the secret is not quoted");
        return true;
      },
    );
    await rejects(
      eb.send(
        basic("long-user", {
          AuthParameters: { BasicAuthParameters: { Username: "u".repeat(513), Password: "p" } },
        }),
      ),
      "ValidationException",
      /length less than or equal to 512/,
    );
    const oauth = (endpoint: string, method: string): CreateConnectionCommand =>
      new CreateConnectionCommand({
        Name: "oauth-bad",
        AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
        AuthParameters: {
          OAuthParameters: {
            AuthorizationEndpoint: endpoint,
            HttpMethod: method as "POST",
            ClientParameters: { ClientID: "id", ClientSecret: "secret" },
          },
        },
      });
    await rejects(
      eb.send(oauth("ftp://auth.example.com/token", "POST")),
      "ValidationException",
      /http or https/,
    );
    await rejects(eb.send(oauth("not a url", "POST")), "ValidationException", /authorizationEndpoint/);
    await rejects(
      eb.send(oauth("https://auth.example.com/token", "DELETE")),
      "ValidationException",
      /enum value set: \[GET, POST, PUT\]/,
    );
    const headers = (params: { Key: string; Value: string }[]): CreateConnectionCommand =>
      basic("headers-bad", {
        AuthParameters: {
          BasicAuthParameters: { Username: "a", Password: "p" },
          InvocationHttpParameters: { HeaderParameters: params },
        },
      });
    await rejects(
      eb.send(headers([{ Key: "bad header", Value: "v" }])),
      "ValidationException",
      /headerParameters\.1\.member\.key/,
    );
    await rejects(
      eb.send(headers(Array.from({ length: 101 }, (_, i) => ({ Key: `h${i}`, Value: "v" })))),
      "ValidationException",
      /length less than or equal to 100/,
    );
  });

  it("refuses header names a call cannot carry, as the API key or an invocation header", async () => {
    const apiKey = (name: string): CreateConnectionCommand =>
      new CreateConnectionCommand({
        Name: "reserved-key",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: name, ApiKeyValue: SECRET.apiKey } },
      });
    for (const name of ["Host", "content-length", "Connection", "Transfer-Encoding", "TE", "Keep-Alive"]) {
      await rejects(
        eb.send(apiKey(name)),
        "ValidationException",
        new RegExp(`ApiKeyAuthParameters\\.ApiKeyName is not valid\\. Reason: ${name} is a header`),
      );
    }
    await rejects(
      eb.send(
        basic("reserved-header", {
          AuthParameters: {
            BasicAuthParameters: { Username: "a", Password: "p" },
            InvocationHttpParameters: { HeaderParameters: [{ Key: "Upgrade", Value: "h2c" }] },
          },
        }),
      ),
      "ValidationException",
      /InvocationHttpParameters\.HeaderParameters is not valid\. Reason: Upgrade is a header/,
    );
    await rejects(
      eb.send(apiKey("my api key")),
      "ValidationException",
      /ApiKeyName is not valid\. Reason: "my api key" is not an HTTP header name/,
    );
    await eb.send(apiKey("x-api-key"));
    await rejects(
      eb.send(
        new UpdateConnectionCommand({
          Name: "reserved-key",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "Proxy-Connection" } },
        }),
      ),
      "ValidationException",
      /ApiKeyName is not valid\. Reason: Proxy-Connection is a header/,
    );
    // Values too: an HTTP header is bytes (tab, printable ASCII, Latin-1), and the secret is not quoted.
    const error = await eb
      .send(
        new UpdateConnectionCommand({
          Name: "reserved-key",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyValue: "ключ-секрет" } },
        }),
      )
      .then(
        () => assert.fail("an API key value past Latin-1 was taken"),
        (e: Error) => e,
      );
    assert.equal(error.name, "ValidationException");
    assert.match(
      error.message,
      /ApiKeyValue is not valid\. Reason: the value holds characters an HTTP header cannot carry/,
    );
    assert.doesNotMatch(error.message, /ключ/);
    await eb.send(
      new UpdateConnectionCommand({
        Name: "reserved-key",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyValue: "clé-secrète" } },
      }),
    );
  });

  it("refuses private connectivity and customer managed keys, which Busbar has not", async () => {
    await rejects(
      eb.send(basic("kms", { KmsKeyIdentifier: "alias/mine" })),
      "ValidationException",
      /KmsKeyIdentifier/,
    );
    await rejects(
      eb.send(
        basic("private", {
          InvocationConnectivityParameters: {
            ResourceParameters: {
              ResourceConfigurationArn:
                "arn:aws:vpc-lattice:us-east-1:000000000000:resourceconfiguration/rcfg-1",
            },
          },
        }),
      ),
      "ValidationException",
      /InvocationConnectivityParameters/,
    );
  });
});

describe("ListConnections", () => {
  it("pages through connections by name prefix, without AuthParameters", async () => {
    for (const n of ["list-e", "list-a", "list-c", "list-b", "list-d"]) await eb.send(basic(n));
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await eb.send(
        new ListConnectionsCommand({ NamePrefix: "list-", Limit: 2, NextToken: token }),
      );
      pages++;
      for (const c of page.Connections ?? []) {
        names.push(c.Name ?? "");
        assert.equal(c.AuthorizationType, "BASIC");
        assert.equal(c.ConnectionState, "AUTHORIZED");
        assert.match(c.ConnectionArn ?? "", CONNECTION_ARN);
        assert.ok(!("AuthParameters" in c));
      }
      token = page.NextToken;
    } while (token !== undefined);
    assert.deepEqual(names, ["list-a", "list-b", "list-c", "list-d", "list-e"]);
    assert.equal(pages, 3);
  });

  it("filters by state", async () => {
    await eb.send(basic("state-filter-1"));
    await eb.send(new DeauthorizeConnectionCommand({ Name: "state-filter-1" }));
    const deauthorized = await eb.send(new ListConnectionsCommand({ ConnectionState: "DEAUTHORIZED" }));
    assert.deepEqual(
      deauthorized.Connections?.map((c) => c.Name),
      ["state-filter-1"],
    );
    const active = await eb.send(new ListConnectionsCommand({ ConnectionState: "ACTIVE" }));
    assert.deepEqual(active.Connections, []);
  });

  it("validates its members", async () => {
    await rejects(eb.send(new ListConnectionsCommand({ Limit: 0 })), "ValidationException", /limit/);
    await rejects(eb.send(new ListConnectionsCommand({ Limit: 101 })), "ValidationException", /limit/);
    await rejects(
      eb.send(new ListConnectionsCommand({ ConnectionState: "SLEEPING" as "ACTIVE" })),
      "ValidationException",
      /connectionState/,
    );
    await rejects(eb.send(new ListConnectionsCommand({ NextToken: "garbage" })), "ValidationException");
  });
});

describe("UpdateConnection", () => {
  it("merges the given AuthParameters into the stored ones", async () => {
    const created = await eb.send(
      basic("merge-1", {
        Description: "before",
        AuthParameters: {
          BasicAuthParameters: { Username: "alice", Password: SECRET.password },
          InvocationHttpParameters: {
            HeaderParameters: [{ Key: "x-keep", Value: "kept", IsValueSecret: false }],
          },
        },
      }),
    );
    const updated = await eb.send(
      new UpdateConnectionCommand({
        Name: "merge-1",
        AuthParameters: {
          BasicAuthParameters: { Username: "bob" },
          InvocationHttpParameters: {
            QueryStringParameters: [{ Key: "q", Value: "1", IsValueSecret: false }],
          },
        },
      }),
    );
    assert.equal(updated.ConnectionArn, created.ConnectionArn);
    assert.equal(updated.ConnectionState, "AUTHORIZED");
    assert.ok(updated.LastAuthorizedTime instanceof Date);
    const d = await eb.send(new DescribeConnectionCommand({ Name: "merge-1" }));
    assert.equal(d.Description, "before", "an update without Description keeps it");
    assert.deepEqual(d.AuthParameters, {
      BasicAuthParameters: { Username: "bob" },
      InvocationHttpParameters: {
        HeaderParameters: [{ Key: "x-keep", Value: "kept", IsValueSecret: false }],
        QueryStringParameters: [{ Key: "q", Value: "1", IsValueSecret: false }],
      },
    });
  });

  it("changes only the description when given only a description", async () => {
    await eb.send(basic("describe-only-1"));
    await eb.send(new DeauthorizeConnectionCommand({ Name: "describe-only-1" }));
    const updated = await eb.send(
      new UpdateConnectionCommand({ Name: "describe-only-1", Description: "after" }),
    );
    assert.equal(updated.ConnectionState, "DEAUTHORIZED");
    const d = await eb.send(new DescribeConnectionCommand({ Name: "describe-only-1" }));
    assert.equal(d.Description, "after");
    assert.deepEqual(d.AuthParameters, { BasicAuthParameters: { Username: "alice" } });
  });

  it("switches the authorization type only with the new type's complete parameters", async () => {
    await eb.send(basic("switch-1"));
    await rejects(
      eb.send(new UpdateConnectionCommand({ Name: "switch-1", AuthorizationType: "API_KEY" })),
      "ValidationException",
      /ApiKeyAuthParameters/,
    );
    await rejects(
      eb.send(
        new UpdateConnectionCommand({
          Name: "switch-1",
          AuthorizationType: "API_KEY",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-key" } },
        }),
      ),
      "ValidationException",
      /ApiKeyValue/,
    );
    await eb.send(
      new UpdateConnectionCommand({
        Name: "switch-1",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-key", ApiKeyValue: SECRET.apiKey } },
      }),
    );
    const d = await eb.send(new DescribeConnectionCommand({ Name: "switch-1" }));
    assert.equal(d.AuthorizationType, "API_KEY");
    assert.deepEqual(d.AuthParameters, { ApiKeyAuthParameters: { ApiKeyName: "x-key" } });
  });

  it("refuses another type's parameters, and a connection that does not exist", async () => {
    await eb.send(basic("other-type-1"));
    await rejects(
      eb.send(
        new UpdateConnectionCommand({
          Name: "other-type-1",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" } },
        }),
      ),
      "ValidationException",
      /ApiKeyAuthParameters/,
    );
    await rejects(
      eb.send(new UpdateConnectionCommand({ Name: "missing-1", Description: "x" })),
      "ResourceNotFoundException",
      /missing-1/,
    );
    // A member out of its constraints is told first, whether or not the connection exists.
    await rejects(
      eb.send(
        new UpdateConnectionCommand({
          Name: "missing-1",
          AuthorizationType: "BAD" as ConnectionAuthorizationType,
        }),
      ),
      "ValidationException",
      /'BAD' at 'authorizationType'/,
    );
    await rejects(
      eb.send(new UpdateApiDestinationCommand({ Name: "missing-1", InvocationRateLimitPerSecond: 0 })),
      "ValidationException",
      /invocationRateLimitPerSecond/i,
    );
  });
});

describe("DeauthorizeConnection", () => {
  it("drops the secrets and makes the API destinations INACTIVE until the connection is authorized again", async () => {
    const created = await eb.send(basic("deauth-1"));
    await eb.send(
      new CreateApiDestinationCommand({
        Name: "deauth-dest-1",
        ConnectionArn: created.ConnectionArn,
        InvocationEndpoint: "https://hooks.example.com/in",
        HttpMethod: "POST",
      }),
    );
    const first = await eb.send(new DescribeConnectionCommand({ Name: "deauth-1" }));
    const deauthorized = await eb.send(new DeauthorizeConnectionCommand({ Name: "deauth-1" }));
    assert.equal(deauthorized.ConnectionArn, created.ConnectionArn);
    assert.equal(deauthorized.ConnectionState, "DEAUTHORIZED");
    const d = await eb.send(new DescribeConnectionCommand({ Name: "deauth-1" }));
    assert.equal(d.ConnectionState, "DEAUTHORIZED");
    assert.deepEqual(d.AuthParameters, { BasicAuthParameters: { Username: "alice" } });
    const dest = await eb.send(new DescribeApiDestinationCommand({ Name: "deauth-dest-1" }));
    assert.equal(dest.ApiDestinationState, "INACTIVE");

    await rejects(
      eb.send(new UpdateConnectionCommand({ Name: "deauth-1", AuthParameters: { BasicAuthParameters: {} } })),
      "ValidationException",
      /BasicAuthParameters\.Password/,
    );
    const again = await eb.send(
      new UpdateConnectionCommand({
        Name: "deauth-1",
        AuthParameters: { BasicAuthParameters: { Password: SECRET.newPassword } },
      }),
    );
    assert.equal(again.ConnectionState, "AUTHORIZED");
    assert.ok(
      (again.LastAuthorizedTime?.getTime() ?? 0) >= (first.LastAuthorizedTime?.getTime() ?? Infinity),
    );
    const active = await eb.send(new DescribeApiDestinationCommand({ Name: "deauth-dest-1" }));
    assert.equal(active.ApiDestinationState, "ACTIVE");
  });

  it("authorizes again only once the dropped values of secret HTTP parameters are given again", async () => {
    await eb.send(
      basic("deauth-params-1", {
        AuthParameters: {
          BasicAuthParameters: { Username: "alice", Password: SECRET.password },
          InvocationHttpParameters: {
            HeaderParameters: [
              { Key: "x-plain", Value: "plain", IsValueSecret: false },
              { Key: "x-tenant-token", Value: SECRET.header },
            ],
          },
        },
      }),
    );
    await eb.send(new DeauthorizeConnectionCommand({ Name: "deauth-params-1" }));
    await rejects(
      eb.send(
        new UpdateConnectionCommand({
          Name: "deauth-params-1",
          AuthParameters: { BasicAuthParameters: { Password: SECRET.newPassword } },
        }),
      ),
      "ValidationException",
      /InvocationHttpParameters\.HeaderParameters .*'x-tenant-token'/,
    );
    const still = await eb.send(new DescribeConnectionCommand({ Name: "deauth-params-1" }));
    assert.equal(still.ConnectionState, "DEAUTHORIZED");
    const again = await eb.send(
      new UpdateConnectionCommand({
        Name: "deauth-params-1",
        AuthParameters: {
          BasicAuthParameters: { Password: SECRET.newPassword },
          InvocationHttpParameters: {
            HeaderParameters: [{ Key: "x-tenant-token", Value: SECRET.header }],
          },
        },
      }),
    );
    assert.equal(again.ConnectionState, "AUTHORIZED");

    await eb.send(
      new CreateConnectionCommand({
        Name: "deauth-params-2",
        AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
        AuthParameters: {
          OAuthParameters: {
            ClientParameters: { ClientID: "client", ClientSecret: SECRET.clientSecret },
            AuthorizationEndpoint: "https://auth.example.com/token",
            HttpMethod: "POST",
            OAuthHttpParameters: { BodyParameters: [{ Key: "audience", Value: SECRET.body }] },
          },
        },
      }),
    );
    await eb.send(new DeauthorizeConnectionCommand({ Name: "deauth-params-2" }));
    await rejects(
      eb.send(
        new UpdateConnectionCommand({
          Name: "deauth-params-2",
          AuthParameters: { OAuthParameters: { ClientParameters: { ClientSecret: SECRET.clientSecret } } },
        }),
      ),
      "ValidationException",
      /OAuthParameters\.OAuthHttpParameters\.BodyParameters .*'audience'/,
    );
  });

  it("is not undone by an UpdateConnection running at the same time", async () => {
    await eb.send(basic("deauth-race-1"));
    await eb.send(
      new CreateApiDestinationCommand({
        Name: "deauth-race-dest-1",
        ConnectionArn: (await eb.send(new DescribeConnectionCommand({ Name: "deauth-race-1" })))
          .ConnectionArn,
        InvocationEndpoint: "https://hooks.example.com/in",
        HttpMethod: "POST",
      }),
    );
    for (let round = 0; round < 20; round++) {
      // Either order ends DEAUTHORIZED: an update first is then deauthorized; after the deauthorization,
      // an update without the password is refused.
      const [deauthorized] = await Promise.allSettled([
        eb.send(new DeauthorizeConnectionCommand({ Name: "deauth-race-1" })),
        eb.send(
          new UpdateConnectionCommand({
            Name: "deauth-race-1",
            Description: `round ${round}`,
            AuthParameters: { BasicAuthParameters: { Username: `user-${round}` } },
          }),
        ),
      ]);
      assert.equal(deauthorized.status, "fulfilled");
      const d = await eb.send(new DescribeConnectionCommand({ Name: "deauth-race-1" }));
      assert.equal(d.ConnectionState, "DEAUTHORIZED", `round ${round}`);
      const dest = await eb.send(new DescribeApiDestinationCommand({ Name: "deauth-race-dest-1" }));
      assert.equal(dest.ApiDestinationState, "INACTIVE", `round ${round}`);
      await eb.send(
        new UpdateConnectionCommand({
          Name: "deauth-race-1",
          AuthParameters: { BasicAuthParameters: { Password: SECRET.newPassword } },
        }),
      );
    }
  });

  it("answers ResourceNotFoundException for a connection that does not exist", async () => {
    await rejects(
      eb.send(new DeauthorizeConnectionCommand({ Name: "missing-2" })),
      "ResourceNotFoundException",
    );
  });
});

describe("DeleteConnection", () => {
  it("deletes a connection; its API destinations stay, INACTIVE", async () => {
    const created = await eb.send(basic("delete-1"));
    await eb.send(
      new CreateApiDestinationCommand({
        Name: "delete-dest-1",
        ConnectionArn: created.ConnectionArn,
        InvocationEndpoint: "https://hooks.example.com/in",
        HttpMethod: "PUT",
      }),
    );
    const deleted = await eb.send(new DeleteConnectionCommand({ Name: "delete-1" }));
    assert.equal(deleted.ConnectionArn, created.ConnectionArn);
    assert.equal(deleted.ConnectionState, "DELETING");
    assert.ok(deleted.CreationTime instanceof Date);
    await rejects(eb.send(new DescribeConnectionCommand({ Name: "delete-1" })), "ResourceNotFoundException");
    const dest = await eb.send(new DescribeApiDestinationCommand({ Name: "delete-dest-1" }));
    assert.equal(dest.ApiDestinationState, "INACTIVE");
    await rejects(eb.send(new DeleteConnectionCommand({ Name: "delete-1" })), "ResourceNotFoundException");

    // A connection created again under the name is another connection (another ARN).
    const recreated = await eb.send(basic("delete-1"));
    assert.notEqual(recreated.ConnectionArn, created.ConnectionArn);
    await rejects(
      eb.send(
        new CreateApiDestinationCommand({
          Name: "delete-dest-2",
          ConnectionArn: created.ConnectionArn,
          InvocationEndpoint: "https://hooks.example.com/in",
          HttpMethod: "POST",
        }),
      ),
      "ResourceNotFoundException",
    );
  });
});

describe("API destinations", () => {
  let connectionArn: string;
  let otherConnectionArn: string;
  before(async () => {
    connectionArn = (await eb.send(basic("dest-conn-1"))).ConnectionArn ?? "";
    otherConnectionArn = (await eb.send(basic("dest-conn-2"))).ConnectionArn ?? "";
  });

  it("keeps every change of updates made at once, beside a DeauthorizeConnection", async () => {
    const conn = (await eb.send(basic("dest-race-conn"))).ConnectionArn ?? "";
    const names = Array.from({ length: 20 }, (_, i) => `dest-race-${i}`);
    for (const Name of names)
      await eb.send(
        new CreateApiDestinationCommand({
          Name,
          ConnectionArn: conn,
          InvocationEndpoint: "https://hooks.example.com/old",
          HttpMethod: "POST",
        }),
      );
    // Three updates of one destination at once, each of another member, and one of every destination
    // beside the connection's deauthorization (which writes every destination's state).
    await Promise.all([
      eb.send(
        new UpdateApiDestinationCommand({
          Name: "dest-race-0",
          InvocationEndpoint: "https://hooks.example.com/new",
        }),
      ),
      eb.send(new UpdateApiDestinationCommand({ Name: "dest-race-0", InvocationRateLimitPerSecond: 7 })),
      eb.send(new UpdateApiDestinationCommand({ Name: "dest-race-0", Description: "changed" })),
      eb.send(new DeauthorizeConnectionCommand({ Name: "dest-race-conn" })),
      ...names.slice(1).map((Name) =>
        eb.send(
          new UpdateApiDestinationCommand({
            Name,
            InvocationEndpoint: `https://hooks.example.com/${Name}`,
          }),
        ),
      ),
    ]);
    const first = await eb.send(new DescribeApiDestinationCommand({ Name: "dest-race-0" }));
    assert.equal(first.InvocationEndpoint, "https://hooks.example.com/new");
    assert.equal(first.InvocationRateLimitPerSecond, 7);
    assert.equal(first.Description, "changed");
    for (const Name of names.slice(1)) {
      const d = await eb.send(new DescribeApiDestinationCommand({ Name }));
      assert.equal(d.InvocationEndpoint, `https://hooks.example.com/${Name}`, Name);
      assert.equal(d.ApiDestinationState, "INACTIVE", Name);
    }
  });

  it("creates, describes, lists, updates and deletes an API destination", async () => {
    const created = await eb.send(
      new CreateApiDestinationCommand({
        Name: "dest-1",
        Description: "orders webhook",
        ConnectionArn: connectionArn,
        InvocationEndpoint: "https://hooks.example.com/orders/*",
        HttpMethod: "POST",
      }),
    );
    assert.match(created.ApiDestinationArn ?? "", DESTINATION_ARN);
    assert.equal(created.ApiDestinationState, "ACTIVE");
    assert.ok(created.CreationTime instanceof Date);
    const d = await eb.send(new DescribeApiDestinationCommand({ Name: "dest-1" }));
    assert.equal(d.ApiDestinationArn, created.ApiDestinationArn);
    assert.equal(d.Name, "dest-1");
    assert.equal(d.Description, "orders webhook");
    assert.equal(d.ConnectionArn, connectionArn);
    assert.equal(d.InvocationEndpoint, "https://hooks.example.com/orders/*");
    assert.equal(d.HttpMethod, "POST");
    assert.equal(d.InvocationRateLimitPerSecond, 300, "EventBridge's default rate");
    assert.equal(d.ApiDestinationState, "ACTIVE");

    const listed = await eb.send(new ListApiDestinationsCommand({ NamePrefix: "dest-1" }));
    assert.equal(listed.ApiDestinations?.length, 1);
    assert.equal(listed.ApiDestinations?.[0]?.ApiDestinationArn, created.ApiDestinationArn);
    assert.equal(listed.ApiDestinations?.[0]?.InvocationRateLimitPerSecond, 300);

    const updated = await eb.send(
      new UpdateApiDestinationCommand({
        Name: "dest-1",
        ConnectionArn: otherConnectionArn,
        InvocationEndpoint: "http://127.0.0.1:9999/v2",
        HttpMethod: "PATCH",
        InvocationRateLimitPerSecond: 5,
      }),
    );
    assert.equal(updated.ApiDestinationArn, created.ApiDestinationArn);
    assert.equal(updated.ApiDestinationState, "ACTIVE");
    const after = await eb.send(new DescribeApiDestinationCommand({ Name: "dest-1" }));
    assert.equal(after.Description, "orders webhook", "an update without Description keeps it");
    assert.equal(after.ConnectionArn, otherConnectionArn);
    assert.equal(after.InvocationEndpoint, "http://127.0.0.1:9999/v2");
    assert.equal(after.HttpMethod, "PATCH");
    assert.equal(after.InvocationRateLimitPerSecond, 5);

    await eb.send(new DeleteApiDestinationCommand({ Name: "dest-1" }));
    await rejects(
      eb.send(new DescribeApiDestinationCommand({ Name: "dest-1" })),
      "ResourceNotFoundException",
      /An api-destination 'dest-1' does not exist/,
    );
    await rejects(eb.send(new DeleteApiDestinationCommand({ Name: "dest-1" })), "ResourceNotFoundException");
    await rejects(
      eb.send(new UpdateApiDestinationCommand({ Name: "dest-1", HttpMethod: "GET" })),
      "ResourceNotFoundException",
    );
  });

  it("refuses a second API destination of the same name", async () => {
    const create = (): CreateApiDestinationCommand =>
      new CreateApiDestinationCommand({
        Name: "dest-dup",
        ConnectionArn: connectionArn,
        InvocationEndpoint: "https://hooks.example.com/in",
        HttpMethod: "POST",
      });
    await eb.send(create());
    await rejects(eb.send(create()), "ResourceAlreadyExistsException", /dest-dup/);
  });

  it("validates its members", async () => {
    const create = (over: Record<string, unknown>): CreateApiDestinationCommand =>
      new CreateApiDestinationCommand({
        Name: "dest-bad",
        ConnectionArn: connectionArn,
        InvocationEndpoint: "https://hooks.example.com/in",
        HttpMethod: "POST",
        ...over,
      });
    await rejects(eb.send(create({ Name: "bad name" })), "ValidationException", /at 'name'/);
    await rejects(
      eb.send(create({ ConnectionArn: "invalid-connection-arn" })),
      "ValidationException",
      /connectionArn/,
    );
    await rejects(
      eb.send(create({ HttpMethod: "TRACE" })),
      "ValidationException",
      /httpMethod.*enum value set/,
    );
    await rejects(
      eb.send(create({ InvocationEndpoint: "ftp://hooks.example.com/in" })),
      "ValidationException",
      /http or https/,
    );
    await rejects(
      eb.send(create({ InvocationEndpoint: "invalid endpoint" })),
      "ValidationException",
      /invocationEndpoint/,
    );
    await rejects(
      eb.send(create({ InvocationRateLimitPerSecond: 0 })),
      "ValidationException",
      /greater than or equal to 1/,
    );
    await rejects(eb.send(create({ Description: "d".repeat(513) })), "ValidationException", /description/);
    await rejects(
      eb.send(create({ ConnectionArn: `arn:aws:events:us-east-1:${ACCOUNT}:connection/nope/0000` })),
      "ResourceNotFoundException",
    );
  });

  it("refuses endpoints that cannot be called as written, keeping path wildcards", async () => {
    const create = (endpoint: string): CreateApiDestinationCommand =>
      new CreateApiDestinationCommand({
        Name: "dest-endpoint",
        ConnectionArn: connectionArn,
        InvocationEndpoint: endpoint,
        HttpMethod: "POST",
      });
    await rejects(
      eb.send(create("https://*.example.com/in")),
      "ValidationException",
      /InvocationEndpoint is not valid\. Reason: the host \*\.example\.com has a \* wildcard/,
    );
    await rejects(
      eb.send(create("https:///in")),
      "ValidationException",
      /InvocationEndpoint is not valid\. Reason: https:\/\/\/in is not an http or https URL with a host/,
    );
    await rejects(
      eb.send(create("https://hooks.example.com:0/in")),
      "ValidationException",
      /InvocationEndpoint is not valid\. Reason: .* has port 0/,
    );
    await assert.rejects(
      eb.send(create(`https://user:${SECRET.password}@hooks.example.com/in`)),
      (e: Error) => {
        assert.equal(e.name, "ValidationException");
        assert.match(e.message, /InvocationEndpoint is not valid\. Reason: the URL has user information/);
        assert.ok(!e.message.includes(SECRET.password), "the password is not quoted");
        return true;
      },
    );
    const created = await eb.send(create("https://hooks.example.com/orders/*/items/*"));
    await rejects(
      eb.send(
        new UpdateApiDestinationCommand({
          Name: "dest-endpoint",
          InvocationEndpoint: "https://user@hooks.example.com/in",
        }),
      ),
      "ValidationException",
      /user information/,
    );
    const d = await eb.send(new DescribeApiDestinationCommand({ Name: "dest-endpoint" }));
    assert.equal(d.ApiDestinationArn, created.ApiDestinationArn);
    assert.equal(d.InvocationEndpoint, "https://hooks.example.com/orders/*/items/*");
  });

  it("refuses a target whose HttpParameters break the API reference's constraints, as a failed entry", async () => {
    const { ApiDestinationArn: arn } = await eb.send(
      new CreateApiDestinationCommand({
        Name: "dest-http-params",
        ConnectionArn: connectionArn,
        InvocationEndpoint: "https://hooks.example.com/orders/*",
        HttpMethod: "POST",
      }),
    );
    await eb.send(new PutRuleCommand({ Name: "http-params-rule", EventPattern: '{"source":["x"]}' }));
    const result = await eb.send(
      new PutTargetsCommand({
        Rule: "http-params-rule",
        Targets: [
          {
            Id: "good",
            Arn: arn,
            HttpParameters: { PathParameterValues: ["$.detail.id"], HeaderParameters: { "X-A": "a" } },
          },
          { Id: "header-key", Arn: arn, HttpParameters: { HeaderParameters: { "bad key": "v" } } },
          { Id: "header-value", Arn: arn, HttpParameters: { HeaderParameters: { "X-A": "x".repeat(513) } } },
          { Id: "query-value", Arn: arn, HttpParameters: { QueryStringParameters: { q: "a\u0001b" } } },
          { Id: "blank-path", Arn: arn, HttpParameters: { PathParameterValues: ["   "] } },
        ],
      }),
    );
    assert.equal(result.FailedEntryCount, 4);
    const errors: Record<string, string> = Object.fromEntries(
      (result.FailedEntries ?? []).map((f) => [f.TargetId ?? "", `${f.ErrorCode}: ${f.ErrorMessage}`]),
    );
    assert.match(
      errors["header-key"] ?? "",
      /^ValidationException: Target header-key: HttpParameters\.HeaderParameters key "bad key" must satisfy/,
    );
    assert.match(
      errors["header-value"] ?? "",
      /HttpParameters\.HeaderParameters value of "X-A" is 513 characters long; at most 512/,
    );
    assert.match(
      errors["query-value"] ?? "",
      /HttpParameters\.QueryStringParameters value of "q" must satisfy/,
    );
    assert.match(errors["blank-path"] ?? "", /HttpParameters\.PathParameterValues\[0\] must satisfy/);
  });

  it("pages and filters by connection", async () => {
    for (const n of ["page-c", "page-a", "page-b"]) {
      await eb.send(
        new CreateApiDestinationCommand({
          Name: n,
          ConnectionArn: n === "page-b" ? otherConnectionArn : connectionArn,
          InvocationEndpoint: "https://hooks.example.com/in",
          HttpMethod: "POST",
          InvocationRateLimitPerSecond: 10,
        }),
      );
    }
    const first = await eb.send(new ListApiDestinationsCommand({ NamePrefix: "page-", Limit: 2 }));
    assert.deepEqual(
      first.ApiDestinations?.map((d) => d.Name),
      ["page-a", "page-b"],
    );
    assert.ok(first.NextToken !== undefined);
    const second = await eb.send(
      new ListApiDestinationsCommand({ NamePrefix: "page-", Limit: 2, NextToken: first.NextToken }),
    );
    assert.deepEqual(
      second.ApiDestinations?.map((d) => d.Name),
      ["page-c"],
    );
    assert.equal(second.NextToken, undefined);
    const byConnection = await eb.send(
      new ListApiDestinationsCommand({ NamePrefix: "page-", ConnectionArn: otherConnectionArn }),
    );
    assert.deepEqual(
      byConnection.ApiDestinations?.map((d) => d.Name),
      ["page-b"],
    );
  });
});

describe("authorization", () => {
  it("lets a key do only what its policy allows, on connection ARNs with their ids", async () => {
    const policy = join(server.dataDir, "connections-policy.json");
    writeFileSync(
      policy,
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["events:CreateConnection", "events:DescribeConnection"],
            Resource: `arn:aws:events:us-east-1:${ACCOUNT}:connection/allowed-*`,
          },
        ],
      }),
    );
    const key = printedJson<{ accessKeyId: string; secretAccessKey: string }>(
      runBusbar(["keys", "create", "--account", ACCOUNT, "--policy", policy, "--data-dir", server.dataDir]),
    );
    const limited = eventBridgeClient(server.url, key);
    try {
      await limited.send(basic("allowed-1"));
      const d = await limited.send(new DescribeConnectionCommand({ Name: "allowed-1" }));
      assert.equal(d.Name, "allowed-1");
      await rejects(limited.send(basic("forbidden-1")), "AccessDeniedException");
      await rejects(
        limited.send(new DeleteConnectionCommand({ Name: "allowed-1" })),
        "AccessDeniedException",
      );
      await rejects(limited.send(new ListConnectionsCommand({})), "AccessDeniedException");
      // Refused whether or not the connection exists, so that names are not learnt by trying them.
      await eb.send(basic("forbidden-exists"));
      for (const Name of ["forbidden-exists", "forbidden-missing"]) {
        await rejects(
          limited.send(new DescribeConnectionCommand({ Name })),
          "AccessDeniedException",
          /forbidden/,
        );
        await rejects(limited.send(new DeauthorizeConnectionCommand({ Name })), "AccessDeniedException");
        await rejects(limited.send(new DescribeApiDestinationCommand({ Name })), "AccessDeniedException");
      }
      await rejects(
        limited.send(new DescribeConnectionCommand({ Name: "allowed-missing" })),
        "ResourceNotFoundException",
      );
    } finally {
      limited.destroy();
    }
  });
});

describe("secrets at rest", () => {
  it("keeps no secret in plain text on disk or in the log, and a restart keeps connections usable", async () => {
    await eb.send(
      basic("at-rest-1", {
        AuthParameters: {
          BasicAuthParameters: { Username: "alice", Password: SECRET.password },
          InvocationHttpParameters: {
            HeaderParameters: [{ Key: "x-secret", Value: SECRET.header, IsValueSecret: true }],
          },
        },
      }),
    );
    await eb.send(
      new UpdateConnectionCommand({
        Name: "at-rest-1",
        AuthParameters: { BasicAuthParameters: { Username: "carol" } },
      }),
    );
    await eb.send(basic("at-rest-deauthorized"));
    await eb.send(new DeauthorizeConnectionCommand({ Name: "at-rest-deauthorized" }));

    eb.destroy();
    assert.equal(await server.stop(), 0);
    const keyFile = join(server.dataDir, "secrets.key");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, "secrets.key is readable by its owner only");
    const key = readFileSync(keyFile);
    for (const { path, bytes } of filesUnder(server.dataDir)) {
      for (const secret of Object.values(SECRET)) {
        assert.ok(!bytes.includes(Buffer.from(secret)), `${path} holds ${secret} in plain text`);
      }
    }
    for (const secret of Object.values(SECRET))
      assert.ok(!server.output().includes(secret), "nor does the log");

    // With the key, the store's sealed text opens to the merged parameters, secrets included.
    const store = openSqliteStore({ dataDir: server.dataDir });
    const box = openSecretBox(server.dataDir, {});
    try {
      const stored = await store.getConnection(ACCOUNT, "at-rest-1");
      assert.ok(stored !== undefined);
      assert.deepEqual(readAuthParameters(box, stored), {
        BasicAuthParameters: { Username: "carol", Password: SECRET.password },
        InvocationHttpParameters: {
          HeaderParameters: [{ Key: "x-secret", Value: SECRET.header, IsValueSecret: true }],
        },
      });
      const deauthorized = await store.getConnection(ACCOUNT, "at-rest-deauthorized");
      assert.ok(deauthorized !== undefined);
      assert.deepEqual(readAuthParameters(box, deauthorized), { BasicAuthParameters: { Username: "alice" } });
    } finally {
      await store.close();
    }

    server = await startBusbar({ dataDir: server.dataDir });
    eb = eventBridgeClient(server.url);
    assert.deepEqual(readFileSync(keyFile), key, "the key file is reused, not replaced");
    const d = await eb.send(new DescribeConnectionCommand({ Name: "at-rest-1" }));
    assert.deepEqual(d.AuthParameters?.BasicAuthParameters, { Username: "carol" });
    const updated = await eb.send(
      new UpdateConnectionCommand({
        Name: "at-rest-1",
        AuthParameters: { BasicAuthParameters: { Username: "dave" } },
      }),
    );
    assert.equal(updated.ConnectionState, "AUTHORIZED", "the stored password still opens after the restart");
  });
});

describe("quotas", () => {
  it("refuses a 3,001st connection and API destination with LimitExceededException, and takes one once another goes", async () => {
    let quota = await startBusbar();
    let client = eventBridgeClient(quota.url);
    try {
      const first = await client.send(basic("quota-0"));
      await client.send(
        new CreateApiDestinationCommand({
          Name: "quota-d-0",
          ConnectionArn: first.ConnectionArn,
          InvocationEndpoint: "https://example.com/quota",
          HttpMethod: "POST",
        }),
      );
      client.destroy();
      assert.equal(await quota.stop(), 0);
      // The account filled to its quotas through the store (6,000 creates through the API take seconds).
      const store = openSqliteStore({ dataDir: quota.dataDir });
      try {
        const connection = await store.getConnection(ACCOUNT, "quota-0");
        const destination = await store.getApiDestination(ACCOUNT, "quota-d-0");
        assert.ok(connection !== undefined && destination !== undefined);
        const created = await Promise.all(
          Array.from({ length: 2999 }, (_, n) => [
            store.createConnection({
              ...connection,
              name: `quota-${n + 1}`,
              arn: connection.arn.replace("/quota-0/", `/quota-${n + 1}/`),
            }),
            store.createApiDestination({
              ...destination,
              name: `quota-d-${n + 1}`,
              arn: destination.arn.replace("/quota-d-0/", `/quota-d-${n + 1}/`),
            }),
          ]).flat(),
        );
        assert.ok(created.every(Boolean));
        // Another account's do not count.
        await store.createConnection({ ...connection, accountId: "111111111111", name: "elsewhere" });
      } finally {
        await store.close();
      }
      quota = await startBusbar({ dataDir: quota.dataDir });
      client = eventBridgeClient(quota.url);
      await assert.rejects(client.send(basic("quota-3000")), (e: Error) => {
        assert.equal(e.name, "LimitExceededException");
        assert.match(e.message, /at most 3000 connections/);
        return true;
      });
      const another = () =>
        client.send(
          new CreateApiDestinationCommand({
            Name: "quota-d-3000",
            ConnectionArn: first.ConnectionArn,
            InvocationEndpoint: "https://example.com/quota",
            HttpMethod: "POST",
          }),
        );
      await assert.rejects(another(), (e: Error) => {
        assert.equal(e.name, "LimitExceededException");
        assert.match(e.message, /at most 3000 API destinations/);
        return true;
      });
      await client.send(new DeleteApiDestinationCommand({ Name: "quota-d-7" }));
      await client.send(new DeleteConnectionCommand({ Name: "quota-7" }));
      assert.equal((await another()).ApiDestinationState, "ACTIVE");
      assert.equal((await client.send(basic("quota-3000"))).ConnectionState, "AUTHORIZED");
    } finally {
      client.destroy();
      await quota.stop();
      removeDataDir(quota.dataDir);
    }
  });
});
