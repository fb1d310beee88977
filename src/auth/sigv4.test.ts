/**
 * verifySignature against requests signed by `@smithy/signature-v4` exactly as `@aws-sdk/client-eventbridge`
 * signs them (same headers, same signer, same options).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  AuthErrorCode,
  IncompleteSignatureError,
  InvalidSignatureError,
  MissingAuthenticationTokenError,
  UnrecognizedClientError,
} from "./errors.js";
import { NodeSha256 } from "./canonical-request.js";
import { claimedAccessKey, verifySignature, type CredentialLookup, type SignedRequest } from "./sigv4.js";

const AKID = "AKIDEXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SIGNED_AT = new Date("2026-01-15T12:00:00Z");
const lookup: CredentialLookup = (id) =>
  Promise.resolve(id === AKID ? { secretAccessKey: SECRET } : undefined);
const at = (date: Date, extra: { maxSkewMs?: number; service?: string; region?: string } = {}) => ({
  now: () => date.getTime(),
  ...extra,
});
const PUT_EVENTS_BODY = '{"Entries":[{"Source":"my.app","DetailType":"order placed","Detail":"{}"}]}';

interface SignOptions {
  body?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  secret?: string;
  date?: Date;
  region?: string;
  service?: string;
}

/** The SDK's query serialisation (buildQueryString): sorted keys, RFC 3986 encoding, repeated keys. */
function wireQuery(query: Record<string, string | string[]>): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return Object.keys(query)
    .sort()
    .flatMap((k) => [query[k] ?? []].flat().map((v) => `${enc(k)}=${enc(v)}`))
    .join("&");
}

/** Signs a request the way @aws-sdk/client-eventbridge does and returns it as the server sees it. */
async function sdkSigned(
  options: SignOptions = {},
): Promise<SignedRequest & { headers: Record<string, string> }> {
  const body = options.body ?? PUT_EVENTS_BODY;
  const path = options.path ?? "/";
  const query = options.query ?? {};
  const signer = new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: options.secret ?? SECRET },
    region: options.region ?? "us-east-1",
    service: options.service ?? "events",
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: "http:",
      hostname: "127.0.0.1",
      port: 4010,
      path,
      query,
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSEvents.PutEvents",
        "content-length": String(Buffer.byteLength(body)),
        "x-amz-user-agent": "aws-sdk-js/3.1168.0",
        "user-agent":
          "aws-sdk-js/3.1168.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2 api/eventbridge#3.1168.0",
        host: "127.0.0.1:4010",
        "amz-sdk-invocation-id": "4ef530f9-7a57-44d5-ba36-56769ed7141d",
        "amz-sdk-request": "attempt=1; max=3",
        ...options.headers,
      },
      body,
    },
    { signingDate: options.date ?? SIGNED_AT },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return { method: "POST", path, query: wireQuery(query), headers, body: Buffer.from(body) };
}

function withHeaders(request: SignedRequest, headers: Record<string, string | undefined>): SignedRequest {
  return { ...request, headers: { ...request.headers, ...headers } };
}

async function rejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  code?: string,
): Promise<Error> {
  let caught: unknown;
  await promise.then(
    () => assert.fail("expected a rejection"),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  if (code !== undefined) assert.equal((caught as { code?: string }).code, code);
  assert.ok(!caught.message.includes(SECRET), "an error message must never contain the secret");
  return caught;
}

describe("claimedAccessKey (before the body)", () => {
  it("names the key of a signed request's header, whatever its body", async () => {
    const request = await sdkSigned();
    assert.equal(
      (await claimedAccessKey({ ...request, headers: { ...request.headers } }, lookup)).accessKeyId,
      AKID,
    );
  });

  it("refuses as verifySignature does a request without a header, with a malformed one, or naming an unknown key", async () => {
    const request = await sdkSigned();
    const { authorization, ...without } = request.headers;
    await rejects(claimedAccessKey({ headers: without, query: "" }, lookup), MissingAuthenticationTokenError);
    const malformed = { ...request.headers, authorization: "AWS4-HMAC-SHA256 Credential" };
    await rejects(claimedAccessKey({ headers: malformed, query: "" }, lookup), IncompleteSignatureError);
    const other = { ...request.headers, authorization: (authorization ?? "").replace(AKID, "AKIDOTHER") };
    await rejects(claimedAccessKey({ headers: other, query: "" }, lookup), UnrecognizedClientError);
  });
});

describe("verifySignature with requests signed like @aws-sdk/client-eventbridge", () => {
  it("accepts a correctly signed PutEvents request and returns who signed it", async () => {
    const request = await sdkSigned();
    assert.match(
      String(request.headers["authorization"]),
      /SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;/,
    );
    const identity = await verifySignature(
      request,
      lookup,
      at(SIGNED_AT, { service: "events", region: "us-east-1" }),
    );
    assert.deepEqual(identity, {
      accessKeyId: AKID,
      region: "us-east-1",
      service: "events",
      date: SIGNED_AT,
    });
  });

  it("rejects a signature made with the wrong secret (InvalidSignatureException)", async () => {
    const request = await sdkSigned({ secret: "not-the-secret" });
    const error = await rejects(verifySignature(request, lookup, at(SIGNED_AT)), InvalidSignatureError);
    assert.equal((error as InvalidSignatureError).awsType, "InvalidSignatureException");
    assert.equal((error as InvalidSignatureError).httpStatus, 400);
    assert.equal((error as InvalidSignatureError).retryable, false);
    assert.match(error.message, /does not match the signature you provided/);
  });

  it("rejects an unknown access key (UnrecognizedClientException)", async () => {
    const request = await sdkSigned();
    const nobody: CredentialLookup = () => Promise.resolve(undefined);
    const error = await rejects(verifySignature(request, nobody, at(SIGNED_AT)), UnrecognizedClientError);
    assert.equal((error as UnrecognizedClientError).awsType, "UnrecognizedClientException");
  });

  it("rejects a tampered body: its hash no longer matches X-Amz-Content-SHA256", async () => {
    const request = { ...(await sdkSigned()), body: Buffer.from(PUT_EVENTS_BODY.replace("my.app", "evil")) };
    const code = AuthErrorCode.ContentSha256Mismatch;
    await rejects(verifySignature(request, lookup, at(SIGNED_AT)), InvalidSignatureError, code);
  });

  it("rejects a tampered body whose X-Amz-Content-SHA256 was rewritten to match", async () => {
    const body = Buffer.from(PUT_EVENTS_BODY.replace("my.app", "evil"));
    const hash = createHash("sha256").update(body).digest("hex");
    const request = { ...withHeaders(await sdkSigned(), { "x-amz-content-sha256": hash }), body };
    const code = AuthErrorCode.SignatureDoesNotMatch;
    await rejects(verifySignature(request, lookup, at(SIGNED_AT)), InvalidSignatureError, code);
  });

  it("rejects a tampered signed header", async () => {
    const request = withHeaders(await sdkSigned(), { "x-amz-target": "AWSEvents.DeleteRule" });
    const code = AuthErrorCode.SignatureDoesNotMatch;
    await rejects(verifySignature(request, lookup, at(SIGNED_AT)), InvalidSignatureError, code);
  });

  it("rejects a request whose X-Amz-Target is not signed, so that it cannot be replayed as another operation", async () => {
    const signer = new SignatureV4({
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      region: "us-east-1",
      service: "events",
      sha256: NodeSha256,
    });
    const body = '{"Name":"orders"}';
    const signed = await signer.sign(
      {
        method: "POST",
        protocol: "http:",
        hostname: "127.0.0.1",
        port: 4010,
        path: "/",
        headers: { host: "127.0.0.1:4010", "x-amz-target": "AWSEvents.DescribeEventBus" },
        body,
      },
      { signingDate: SIGNED_AT, unsignableHeaders: new Set(["x-amz-target"]) },
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
    assert.doesNotMatch(headers.authorization ?? "", /x-amz-target/);
    const request = { method: "POST", path: "/", query: "", headers, body: Buffer.from(body) };
    const replayed = withHeaders(request, { "x-amz-target": "AWSEvents.DeleteEventBus" });
    const error = await rejects(verifySignature(replayed, lookup, at(SIGNED_AT)), IncompleteSignatureError);
    assert.match(error.message, /X-Amz-Target header must be signed/);
  });

  it("accepts unsigned extra or changed headers (user-agent, a proxy's x-forwarded-for)", async () => {
    const request = withHeaders(await sdkSigned(), {
      "user-agent": "changed",
      "x-forwarded-for": "10.0.0.1",
    });
    await verifySignature(request, lookup, at(SIGNED_AT));
  });

  it("rejects a header listed in SignedHeaders but absent from the request", async () => {
    const request = withHeaders(await sdkSigned(), { "amz-sdk-request": undefined });
    const error = await rejects(verifySignature(request, lookup, at(SIGNED_AT)), InvalidSignatureError);
    assert.match(error.message, /'amz-sdk-request' is absent/);
  });

  it("accepts a timestamp exactly 15 minutes old or ahead", async () => {
    const request = await sdkSigned();
    await verifySignature(request, lookup, at(new Date(SIGNED_AT.getTime() + 15 * 60_000)));
    await verifySignature(request, lookup, at(new Date(SIGNED_AT.getTime() - 15 * 60_000)));
  });

  it("rejects a timestamp more than 15 minutes old as expired", async () => {
    const request = await sdkSigned();
    const now = new Date(SIGNED_AT.getTime() + 15 * 60_000 + 1000);
    const error = await rejects(
      verifySignature(request, lookup, at(now)),
      InvalidSignatureError,
      "SignatureExpired",
    );
    assert.equal(
      error.message,
      "Signature expired: 20260115T120000Z is now earlier than 20260115T120001Z (20260115T121501Z - 15 min.)",
    );
  });

  it("rejects a timestamp more than 15 minutes in the future as not yet current", async () => {
    const request = await sdkSigned();
    const now = new Date(SIGNED_AT.getTime() - 15 * 60_000 - 1000);
    const code = AuthErrorCode.SignatureNotYetCurrent;
    const error = await rejects(verifySignature(request, lookup, at(now)), InvalidSignatureError, code);
    assert.match(error.message, /^Signature not yet current: 20260115T120000Z is still later than/);
  });

  it("applies maxSkewMs instead of the 15-minute default", async () => {
    const request = await sdkSigned();
    const now = new Date(SIGNED_AT.getTime() + 61_000);
    await rejects(verifySignature(request, lookup, at(now, { maxSkewMs: 60_000 })), InvalidSignatureError);
    await assert.rejects(verifySignature(request, lookup, at(now, { maxSkewMs: -1 })), RangeError);
  });

  it("rejects a request without an Authorization header (MissingAuthenticationTokenException)", async () => {
    const request = withHeaders(await sdkSigned(), { authorization: undefined });
    const error = await rejects(
      verifySignature(request, lookup, at(SIGNED_AT)),
      MissingAuthenticationTokenError,
    );
    assert.equal((error as MissingAuthenticationTokenError).awsType, "MissingAuthenticationTokenException");
    const presigned = { ...request, query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00" };
    const error2 = await rejects(
      verifySignature(presigned, lookup, at(SIGNED_AT)),
      MissingAuthenticationTokenError,
    );
    assert.match(error2.message, /presigned/);
  });

  it("rejects a request with two Authorization headers (IncompleteSignatureException)", async () => {
    const request = await sdkSigned();
    const authorization = request.headers["authorization"] ?? "";
    const twice = {
      ...request,
      headers: { ...request.headers, authorization: [authorization, authorization] },
    };
    const error = await rejects(verifySignature(twice, lookup, at(SIGNED_AT)), IncompleteSignatureError);
    assert.match(error.message, /more than one Authorization header/);
  });

  it("rejects a request with neither X-Amz-Date nor Date (IncompleteSignatureException)", async () => {
    const request = withHeaders(await sdkSigned(), { "x-amz-date": undefined });
    const error = await rejects(verifySignature(request, lookup, at(SIGNED_AT)), IncompleteSignatureError);
    assert.match(error.message, /either a 'X-Amz-Date' or a 'Date' header/);
  });

  it("rejects an X-Amz-Date that is not ISO 8601 basic format", async () => {
    for (const date of ["2026-01-15T12:00:00Z", "20260115T120000", "20260231T120000Z"]) {
      const request = withHeaders(await sdkSigned(), { "x-amz-date": date });
      await rejects(verifySignature(request, lookup, at(SIGNED_AT)), IncompleteSignatureError);
    }
  });

  it("rejects a credential scope date that differs from X-Amz-Date", async () => {
    const request = await sdkSigned();
    const authorization = request.headers["authorization"]?.replace("/20260115/", "/20260114/");
    const tampered = withHeaders(request, { authorization });
    const code = AuthErrorCode.CredentialScopeMismatch;
    const error = await rejects(
      verifySignature(tampered, lookup, at(SIGNED_AT)),
      InvalidSignatureError,
      code,
    );
    assert.match(error.message, /'20260114' != '20260115'/);
  });

  it("rejects a credential scoped to another service or region when one is required", async () => {
    const sqs = await sdkSigned({ service: "sqs" });
    const code = AuthErrorCode.CredentialScopeMismatch;
    await rejects(
      verifySignature(sqs, lookup, at(SIGNED_AT, { service: "events" })),
      InvalidSignatureError,
      code,
    );
    const euWest = await sdkSigned({ region: "eu-west-1" });
    await rejects(
      verifySignature(euWest, lookup, at(SIGNED_AT, { region: "us-east-1" })),
      InvalidSignatureError,
      code,
    );
    await verifySignature(euWest, lookup, at(SIGNED_AT));
  });

  it("verifies a path with characters needing encoding (double-encoded in the canonical request)", async () => {
    const request = await sdkSigned({ path: "/my%20bus/caf%C3%A9/a%2Fb/~x/%2A" });
    await verifySignature(request, lookup, at(SIGNED_AT));
    const other = { ...request, path: "/my%20bus/cafe/a%2Fb/~x/%2A" };
    await rejects(verifySignature(other, lookup, at(SIGNED_AT)), InvalidSignatureError);
  });

  it("verifies a query string with repeated, reserved and non-ASCII parameters", async () => {
    const query = { b: "2", a: ["1", "0"], "sp ace": "a b", uni: "é", plus: "1+1", tilde: "~", empty: "" };
    const request = await sdkSigned({ query });
    assert.match(request.query, /sp%20ace=a%20b/);
    await verifySignature(request, lookup, at(SIGNED_AT));
    const reordered = { ...request, query: request.query.split("&").reverse().join("&") };
    await verifySignature(reordered, lookup, at(SIGNED_AT));
    const changed = { ...request, query: request.query.replace("b=2", "b=3") };
    await rejects(verifySignature(changed, lookup, at(SIGNED_AT)), InvalidSignatureError);
  });

  it("refuses X-Amz-Content-SHA256: UNSIGNED-PAYLOAD", async () => {
    const request = await sdkSigned({ headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    const code = AuthErrorCode.UnsignedPayload;
    await rejects(verifySignature(request, lookup, at(SIGNED_AT)), InvalidSignatureError, code);
  });

  it("joins a repeated header given as an array with commas, as the canonical form does", async () => {
    const request = await sdkSigned({ headers: { "x-amz-meta-tag": "a,b" } });
    const repeated = { ...request, headers: { ...request.headers, "x-amz-meta-tag": ["a", " b "] } };
    await verifySignature(repeated, lookup, at(SIGNED_AT));
  });

  it("verifies a request dated by the Date header alone (independent canonicalisation)", async () => {
    const body = Buffer.from("{}");
    const date = "Thu, 15 Jan 2026 12:00:00 GMT";
    const canonical = [
      "POST",
      "/",
      "",
      "date:" + date,
      "host:localhost:4010",
      "x-amz-target:AWSEvents.ListRules",
      "",
      "date;host;x-amz-target",
      createHash("sha256").update(body).digest("hex"),
    ].join("\n");
    const scope = "20260115/us-east-1/events/aws4_request";
    const stringToSign = ["AWS4-HMAC-SHA256", "20260115T120000Z", scope, sha256hex(canonical)].join("\n");
    let key: Buffer = Buffer.from(`AWS4${SECRET}`);
    for (const part of ["20260115", "us-east-1", "events", "aws4_request"]) key = hmac(key, part);
    const signature = hmac(key, stringToSign).toString("hex");
    const request: SignedRequest = {
      method: "POST",
      path: "/",
      query: "",
      body,
      headers: {
        date,
        host: "localhost:4010",
        "x-amz-target": "AWSEvents.ListRules",
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=date;host;x-amz-target, Signature=${signature}`,
      },
    };
    const identity = await verifySignature(request, lookup, at(SIGNED_AT));
    assert.equal(identity.date.getTime(), SIGNED_AT.getTime());
  });
});

function sha256hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}
