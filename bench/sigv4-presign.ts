/**
 * Signs requests for load generation: SigV4 headers computed with node:crypto. `bench:ingest` signs a
 * few bodies once and replays them (a signature stays valid for 15 minutes), so that the load generator
 * spends its CPU sending, not signing; `bench:queue` signs every request (its bodies differ). The
 * server verifies every request either way.
 */
import { createHash, createHmac } from "node:crypto";
import http from "node:http";

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
  let key = signingKeys.get(scope);
  if (key === undefined) {
    key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), "aws4_request");
    signingKeys.set(scope, key);
  }
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const { host: _host, ...rest } = headers;
  return {
    ...rest,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

/**
 * POSTs a body to `/` of `url` over `agent` with the given (signed) headers; resolves with the JSON
 * reply of a 200, rejects with the status and text of anything else.
 */
export function postJson(
  url: URL,
  agent: http.Agent,
  headers: Record<string, string>,
  body: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: "/",
        agent,
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}: ${text}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
