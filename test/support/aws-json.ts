/**
 * Signed AWS JSON requests without an SDK: SigV4 headers computed with node:crypto, for Busbar's own
 * operations (which no AWS SDK models) and for load generators.
 */
import { createHash, createHmac } from "node:crypto";

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();
const hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

const signingKeys = new Map<string, Buffer>();

/** Headers of a signed `POST /` request to EventBridge (AWS JSON 1.1) or, for `AmazonSQS.*` targets, SQS (1.0). */
export function signedHeaders(
  host: string,
  target: string,
  body: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region = "us-east-1",
): Record<string, string> {
  const sqs = target.startsWith("AmazonSQS.");
  const service = sqs ? "sqs" : "events";
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    "content-type": sqs ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
    host,
    "x-amz-date": amzDate,
    "x-amz-target": target,
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    "POST",
    "/",
    "",
    ...names.map((n) => `${n}:${headers[n]}`),
    "",
    names.join(";"),
    hex(body),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(canonical)].join("\n");
  // Kept per secret and scope: a test signs as several keys.
  const cacheKey = `${credentials.secretAccessKey}\n${scope}`;
  let key = signingKeys.get(cacheKey);
  if (key === undefined) {
    key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), "aws4_request");
    signingKeys.set(cacheKey, key);
  }
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const { host: _host, ...rest } = headers;
  return {
    ...rest,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

/**
 * A signed AWS JSON request as the bytes of an HTTP/1.1 POST, for tests that write to a socket
 * themselves (pipelining several in one write, say).
 */
export function signedRequestText(
  host: string,
  target: string,
  body: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): string {
  const headers = {
    host,
    ...signedHeaders(host, target, body, credentials),
    "content-length": String(Buffer.byteLength(body)),
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST / HTTP/1.1\r\n${lines.join("")}\r\n${body}`;
}

/** POSTs one signed AWS JSON request (`AWSEvents.<Op>` or `AmazonSQS.<Op>`) and returns the status and parsed body. */
export async function callAwsJson(
  url: string,
  target: string,
  input: object,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify(input);
  const headers = signedHeaders(new URL(url).host, target, body, credentials);
  const r = await fetch(`${url}/`, { method: "POST", headers, body });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** An account made on a test server (Busbar's CreateAccount, as `as`), with its root key. */
export async function createAccount(
  url: string,
  name: string,
  as: { accessKeyId: string; secretAccessKey: string },
): Promise<{ accountId: string; accessKeyId: string; secretAccessKey: string }> {
  const created = await callAwsJson(url, "AWSEvents.CreateAccount", { Name: name }, as);
  if (created.status !== 200) throw new Error(`CreateAccount ${name}: ${JSON.stringify(created.body)}`);
  return {
    accountId: created.body.AccountId as string,
    accessKeyId: created.body.AccessKeyId as string,
    secretAccessKey: created.body.SecretAccessKey as string,
  };
}
