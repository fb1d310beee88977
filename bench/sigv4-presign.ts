/**
 * Signs EventBridge requests for load generation: SigV4 headers computed with node:crypto once per
 * body, then replayed (a signature stays valid for 15 minutes), so that the load generator spends its
 * CPU sending, not signing. The server still verifies every request.
 */
import { createHash, createHmac } from "node:crypto";

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();
const hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** Headers of a signed `POST /` EventBridge request. */
export function signedHeaders(
  host: string,
  target: string,
  body: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region = "us-east-1",
): Record<string, string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    "content-type": "application/x-amz-json-1.1",
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
  const scope = `${day}/${region}/events/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(canonical)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), "events"),
    "aws4_request",
  );
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const { host: _host, ...rest } = headers;
  return {
    ...rest,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}
