/**
 * verifySignature against the official clients: a golden corpus of requests signed by botocore (the
 * signer of the AWS CLI, one of them captured on the wire from `aws events put-events`), and the real
 * `EventBridgeClient` of the AWS SDK for JavaScript v3 talking to a loopback server.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { AuthError, InvalidSignatureError } from "./errors.js";
import {
  verifySignature,
  type CredentialLookup,
  type SignedRequest,
  type VerifiedSignature,
} from "./sigv4.js";

const AKID = "AKIDEXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const lookup: CredentialLookup = (id) =>
  Promise.resolve(id === AKID ? { secretAccessKey: SECRET } : undefined);

interface GoldenCase {
  name: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  bodyBase64: string;
}

const corpus = JSON.parse(
  readFileSync(new URL("./testdata/botocore-sigv4.json", import.meta.url), "utf8"),
) as { cases: GoldenCase[] };
const BOTOCORE_SIGNED_AT = Date.parse("2026-11-22T16:55:36Z");

function golden(c: GoldenCase): SignedRequest {
  return {
    method: c.method,
    path: c.path,
    query: c.query,
    headers: c.headers,
    body: Buffer.from(c.bodyBase64, "base64"),
  };
}

describe("verifySignature with requests signed by botocore (AWS CLI)", () => {
  for (const c of corpus.cases) {
    it(`accepts: ${c.name}`, async () => {
      const identity = await verifySignature(golden(c), lookup, { now: () => BOTOCORE_SIGNED_AT });
      assert.equal(identity.accessKeyId, AKID);
      assert.equal(identity.date.getTime(), BOTOCORE_SIGNED_AT);
    });
  }

  it("rejects a botocore request whose body was changed (no X-Amz-Content-SHA256 to compare)", async () => {
    const first = corpus.cases[0];
    assert.ok(first !== undefined);
    const request = { ...golden(first), body: Buffer.from('{"Entries": []}') };
    await assert.rejects(
      verifySignature(request, lookup, { now: () => BOTOCORE_SIGNED_AT }),
      (e) => e instanceof InvalidSignatureError && e.code === "SignatureDoesNotMatch",
    );
  });
});

/** A loopback server that verifies each request and answers in the AWS JSON 1.1 shape. */
async function withServer<T>(run: (endpoint: string, seen: VerifiedSignature[]) => Promise<T>): Promise<T> {
  const seen: VerifiedSignature[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const [path = "/", query = ""] = (req.url ?? "/").split(/\?(.*)/s);
    const request = {
      method: req.method ?? "GET",
      path,
      query,
      headers: req.headersDistinct,
      body: Buffer.concat(chunks),
    };
    try {
      seen.push(await verifySignature(request, lookup, { service: "events" }));
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end(
        JSON.stringify({
          FailedEntryCount: 0,
          Entries: [{ EventId: "11111111-2222-3333-4444-555555555555" }],
        }),
      );
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      res.writeHead(error.httpStatus, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify({ __type: error.awsType, message: error.message }));
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await run(`http://127.0.0.1:${port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function client(endpoint: string, secretAccessKey: string): EventBridgeClient {
  return new EventBridgeClient({
    endpoint,
    region: "eu-central-1",
    maxAttempts: 1,
    credentials: { accessKeyId: AKID, secretAccessKey },
  });
}

const entries = [{ Source: "my.app", DetailType: "order placed", Detail: JSON.stringify({ id: "é 1" }) }];

describe("verifySignature with the real @aws-sdk/client-eventbridge over loopback", () => {
  it("accepts PutEvents from EventBridgeClient", async () => {
    await withServer(async (endpoint, seen) => {
      const eb = client(endpoint, SECRET);
      const out = await eb.send(new PutEventsCommand({ Entries: entries }));
      eb.destroy();
      assert.equal(out.FailedEntryCount, 0);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.accessKeyId, AKID);
      assert.equal(seen[0]?.region, "eu-central-1");
      assert.equal(seen[0]?.service, "events");
    });
  });

  it("makes EventBridgeClient throw InvalidSignatureException for a wrong secret", async () => {
    await withServer(async (endpoint, seen) => {
      const eb = client(endpoint, "wrong-secret");
      await assert.rejects(eb.send(new PutEventsCommand({ Entries: entries })), (e: Error) => {
        assert.equal(e.name, "InvalidSignatureException");
        assert.match(e.message, /does not match the signature you provided/);
        return true;
      });
      eb.destroy();
      assert.equal(seen.length, 0);
    });
  });
});
