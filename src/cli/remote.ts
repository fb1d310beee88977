/**
 * Busbar's own API operations called from the command line (`--endpoint URL`): AWS JSON 1.1 requests
 * signed with SigV4 (`@smithy/signature-v4`, the AWS SDK's signer) for the `events` service, with the
 * credentials of the standard AWS environment variables.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { request } from "undici";
import { NodeSha256 } from "../auth/index.js";
import type { Output } from "./test-pattern.js";

/** A usage problem the command reports with exit code 2. */
export class AdminError extends Error {
  override readonly name = "AdminError";
}

/** Where and as whom the command calls a running server. */
export interface Remote {
  readonly endpoint: URL;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

/**
 * The remote of `--endpoint URL`, with credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
 * and the region from AWS_REGION or AWS_DEFAULT_REGION (default us-east-1: the server accepts any).
 * @throws AdminError for a URL that is not http(s), or missing credentials.
 */
export function remoteOf(endpoint: string, env: NodeJS.ProcessEnv = process.env): Remote {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new AdminError(`--endpoint must be a URL such as http://127.0.0.1:8380, got "${endpoint}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new AdminError(`--endpoint must be an http or https URL, got "${endpoint}"`);
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? "";
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? "";
  if (accessKeyId === "" || secretAccessKey === "")
    throw new AdminError(
      "--endpoint needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a root key, or a key whose policies allow the busbar: action)",
    );
  return {
    endpoint: url,
    accessKeyId,
    secretAccessKey,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
  };
}

/**
 * The running server a command was given: `--endpoint URL`, else BUSBAR_ENDPOINT unless an explicit
 * `--data-dir` says to work on a data directory; `undefined` when there is none.
 * @throws AdminError for both flags at once, or as {@link remoteOf}.
 */
export function remoteFor(
  place: { readonly endpoint?: string; readonly dataDir?: string },
  env: NodeJS.ProcessEnv = process.env,
): Remote | undefined {
  if (place.endpoint !== undefined) {
    if (place.dataDir !== undefined) throw new AdminError("give --data-dir or --endpoint, not both");
    return remoteOf(place.endpoint, env);
  }
  const fromEnv = env.BUSBAR_ENDPOINT;
  return place.dataDir !== undefined || fromEnv === undefined || fromEnv === ""
    ? undefined
    : remoteOf(fromEnv, env);
}

/**
 * The running server of a command that only works on one (see {@link remoteFor}).
 * @throws AdminError when it was given none.
 */
export function requireRemote(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): Remote {
  const remote = remoteFor(endpoint === undefined ? {} : { endpoint }, env);
  if (remote === undefined)
    throw new AdminError("this command calls a running server: give --endpoint URL or set BUSBAR_ENDPOINT");
  return remote;
}

/** Prints a command's result as indented JSON. */
export const printJson = (io: Output, value: unknown): void => io.out(JSON.stringify(value, null, 2));

/**
 * Calls a listing operation page by page (`NextToken`) and returns the items of every page, from the
 * member `member` of each output.
 */
export async function callRemoteAllPages(
  remote: Remote,
  operation: string,
  input: Record<string, unknown>,
  member: string,
): Promise<unknown[]> {
  const items: unknown[] = [];
  let nextToken: unknown;
  do {
    const output = await callRemote(remote, operation, {
      ...input,
      ...(nextToken !== undefined && { NextToken: nextToken }),
    });
    items.push(...((output[member] as unknown[] | undefined) ?? []));
    nextToken = output.NextToken;
  } while (typeof nextToken === "string");
  return items;
}

/**
 * Calls `AWSEvents.<operation>` with `input`; returns the output.
 * @throws AdminError with the server's error type and message, or why the server could not be reached.
 */
export async function callRemote(
  remote: Remote,
  operation: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { endpoint } = remote;
  const body = JSON.stringify(input);
  const signer = new SignatureV4({
    service: "events",
    region: remote.region,
    credentials: { accessKeyId: remote.accessKeyId, secretAccessKey: remote.secretAccessKey },
    sha256: NodeSha256,
  });
  const path = endpoint.pathname.endsWith("/") ? endpoint.pathname : `${endpoint.pathname}/`;
  const signed = await signer.sign({
    method: "POST",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port !== "" && { port: Number(endpoint.port) }),
    path,
    query: {},
    headers: {
      host: endpoint.host,
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSEvents.${operation}`,
    },
    body,
  });
  let status: number;
  let text: string;
  try {
    const response = await request(new URL(path, endpoint), {
      method: "POST",
      headers: signed.headers,
      body,
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (e) {
    throw new AdminError(`cannot reach ${endpoint.origin}: ${(e as Error).message}`);
  }
  let output: Record<string, unknown>;
  try {
    output = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AdminError(`${endpoint.origin} answered ${status} with a body that is not JSON`);
  }
  if (status !== 200) {
    const type = typeof output.__type === "string" ? output.__type : `HTTP ${status}`;
    const message = typeof output.message === "string" ? output.message : text;
    throw new AdminError(`${type}: ${message}`);
  }
  return output;
}
