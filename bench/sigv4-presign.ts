/**
 * Signs requests for load generation: SigV4 headers computed with node:crypto. `bench:ingest` signs a
 * few bodies once and replays them (a signature stays valid for 15 minutes), so that the load generator
 * spends its CPU sending, not signing; `bench:queue` signs every request (its bodies differ). The
 * server verifies every request either way.
 */
import http from "node:http";

export { signedHeaders } from "../test/support/index.js";

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
