/**
 * Busbar's own API operations called from the command line (`--endpoint URL`): AWS JSON 1.1 requests
 * signed with SigV4 (`@smithy/signature-v4`, the AWS SDK's signer) for the `events` service, with the
 * credentials of the standard AWS environment variables, in the server's region.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { request } from "undici";
import { NodeSha256 } from "../auth/index.js";
import { parseInteger, resolveRegion, setting } from "../config/index.js";
import type { Output } from "./output.js";
import { REPLY_SHAPES, shapeProblem } from "./replies.js";

/** The media type of AWS JSON 1.1, which Busbar answers with. */
const AWS_JSON_1_1 = "application/x-amz-json-1.1";

/** @default 20000 — BUSBAR_ENDPOINT_TIMEOUT_MS: how long a call to `--endpoint` may take in all. */
export const DEFAULT_ENDPOINT_TIMEOUT_MS = 20_000;
/** Longest BUSBAR_ENDPOINT_TIMEOUT_MS: an hour. */
export const MAX_ENDPOINT_TIMEOUT_MS = 3_600_000;

/** A usage problem the command reports with exit code 2. */
export class AdminError extends Error {
  override readonly name = "AdminError";
}

/**
 * A call to a running server that failed without the server's answer: it could not be reached, or
 * did not answer in time (when the call changes something, the server may have done it all the
 * same; the message says so). The command reports it with exit code 1, not as a refusal.
 */
export class RemoteFailure extends Error {
  override readonly name = "RemoteFailure";
}

/**
 * What a call that got no answer may have done anyway, for the operations that change something:
 * the way to find out before trying again.
 */
const MAY_HAVE_DONE: Readonly<Record<string, string>> = {
  CreateAccount: "the server may have made the account all the same: see `busbar accounts list`",
  CreateAccessKey:
    "the server may have made the key all the same (its secret is not shown again): see `busbar keys list`, and delete it if so",
  DeleteAccessKey: "the server may have deleted the key all the same: see `busbar keys list`",
  RotateTargetSigningSecret:
    "the server may have rotated the secret all the same: see `busbar targets describe-signing-secrets`",
};

/** Error codes of a connection that was never made: the request was not sent. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** The certificate errors of a TLS handshake (OpenSSL's verify codes, as Node names them). */
const CERTIFICATE_ERRORS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
]);

/** Whether a failure's code says the request was never sent: no connection, or no TLS handshake. */
function neverSent(code: string | undefined): boolean {
  if (code === undefined) return false;
  return (
    NOT_CONNECTED.has(code) ||
    CERTIFICATE_ERRORS.has(code) ||
    code === "EPROTO" ||
    code.startsWith("ERR_SSL_") ||
    code.startsWith("ERR_TLS_")
  );
}

/** Whether a TLS handshake met a server that does not speak TLS (OpenSSL's "wrong version number"). */
function notTls(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number/i.test(error.message);
}

/** Where and as whom the command calls a running server. */
export interface Remote {
  readonly endpoint: URL;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly timeoutMs: number;
}

/** The options that say where a command works. */
export interface Place {
  readonly endpoint?: string;
  readonly dataDir?: string;
  /** `--region`: the server's region (its BUSBAR_REGION). */
  readonly region?: string;
}

/**
 * The remote of `endpoint` (given as `from`: `--endpoint` or BUSBAR_ENDPOINT), with credentials from
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Requests are signed for the server's region, which it
 * checks in the signature's scope: `region` (`--region`), else BUSBAR_REGION, else us-east-1 (the
 * server's default); the caller's AWS_REGION is for AWS, not for Busbar.
 * @throws AdminError for a URL that is not http(s), or missing credentials.
 * @throws ConfigError for a bad region or BUSBAR_ENDPOINT_TIMEOUT_MS.
 */
export function remoteOf(
  endpoint: string,
  env: NodeJS.ProcessEnv = process.env,
  from = "--endpoint",
  region?: string,
): Remote {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new AdminError(`${from} must be a URL such as http://127.0.0.1:8380, got "${endpoint}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new AdminError(`${from} must be an http or https URL, got "${endpoint}"`);
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? "";
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? "";
  if (accessKeyId === "" || secretAccessKey === "")
    throw new AdminError(
      "--endpoint needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a root key, or a key whose policies allow the busbar: action)",
    );
  const timeout = setting(env, "BUSBAR_ENDPOINT_TIMEOUT_MS");
  return {
    endpoint: url,
    accessKeyId,
    secretAccessKey,
    region: resolveRegion(region, env),
    timeoutMs:
      timeout === undefined
        ? DEFAULT_ENDPOINT_TIMEOUT_MS
        : parseInteger("BUSBAR_ENDPOINT_TIMEOUT_MS", timeout, 1, MAX_ENDPOINT_TIMEOUT_MS),
  };
}

/**
 * The running server a command was given: `--endpoint URL`, else BUSBAR_ENDPOINT unless an explicit
 * `--data-dir` says to work on a data directory; `undefined` when there is none.
 * @throws AdminError for both flags at once, or as {@link remoteOf}.
 */
export function remoteFor(place: Place, env: NodeJS.ProcessEnv = process.env): Remote | undefined {
  if (place.endpoint !== undefined) {
    if (place.dataDir !== undefined) throw new AdminError("give --data-dir or --endpoint, not both");
    return remoteOf(place.endpoint, env, "--endpoint", place.region);
  }
  const fromEnv = setting(env, "BUSBAR_ENDPOINT");
  return place.dataDir !== undefined || fromEnv === undefined
    ? undefined
    : remoteOf(fromEnv, env, "BUSBAR_ENDPOINT", place.region);
}

/**
 * The running server of a command that only works on one (see {@link remoteFor}).
 * @throws AdminError when it was given none.
 */
export function requireRemote(place: Omit<Place, "dataDir">, env: NodeJS.ProcessEnv = process.env): Remote {
  const remote = remoteFor(place, env);
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
  // A server that gives a token it gave before would have this loop on without end.
  const seen = new Set<string>();
  let nextToken: unknown;
  do {
    const output = await callRemote(remote, operation, {
      ...input,
      ...(nextToken !== undefined && { NextToken: nextToken }),
    });
    items.push(...((output[member] as unknown[] | undefined) ?? []));
    nextToken = output.NextToken;
    if (typeof nextToken === "string") {
      if (seen.has(nextToken)) {
        throw new AdminError(
          `${remote.endpoint.origin} did not answer ${operation} as a Busbar server (it gave a NextToken it had given before: its pages would never end)`,
        );
      }
      seen.add(nextToken);
    }
  } while (typeof nextToken === "string");
  return items;
}

/**
 * Calls `AWSEvents.<operation>` with `input`; returns the output, once it has the operation's shape
 * ({@link REPLY_SHAPES}). The whole call (connecting, and reading the reply) must end within the
 * remote's timeout.
 * @throws AdminError with the server's error type and message, or why its reply is not one of Busbar's.
 * @throws RemoteFailure why the server could not be reached or did not answer in time.
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
      "content-type": AWS_JSON_1_1,
      "x-amz-target": `AWSEvents.${operation}`,
    },
    body,
  });
  const signal = AbortSignal.timeout(remote.timeoutMs);
  let status: number;
  let contentType: string;
  let text: string;
  try {
    const response = await request(new URL(path, endpoint), {
      method: "POST",
      headers: signed.headers,
      body,
      signal,
    });
    status = response.statusCode;
    const header = response.headers["content-type"];
    contentType = (Array.isArray(header) ? header[0] : header) ?? "";
    text = await response.body.text();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const mayHaveDone = MAY_HAVE_DONE[operation];
    // A request that may have reached the server: what it did is unknown.
    const unknown = mayHaveDone === undefined ? "" : `; ${mayHaveDone}`;
    if (signal.aborted) {
      throw new RemoteFailure(
        `${endpoint.origin} did not answer ${operation} within ${remote.timeoutMs / 1000} s (BUSBAR_ENDPOINT_TIMEOUT_MS)${unknown}`,
      );
    }
    throw new RemoteFailure(
      neverSent(code)
        ? `cannot reach ${endpoint.origin}: ${notTls(e as Error) ? `it did not answer in TLS (http://${endpoint.host}?)` : (e as Error).message}`
        : `${operation} on ${endpoint.origin} failed before its answer: ${(e as Error).message}${unknown}`,
    );
  }
  const notBusbar = (why: string) =>
    new AdminError(`${endpoint.origin} did not answer ${operation} as a Busbar server (${why})`);
  let output: unknown;
  try {
    output = JSON.parse(text);
  } catch {
    throw notBusbar(`HTTP ${status} with a body that is not JSON`);
  }
  if (typeof output !== "object" || output === null || Array.isArray(output))
    throw notBusbar(`HTTP ${status} with a body that is not a JSON object`);
  const reply = output as Record<string, unknown>;
  if (status !== 200) {
    if (typeof reply.__type !== "string") throw notBusbar(`HTTP ${status} without an error type`);
    const message = typeof reply.message === "string" ? reply.message : text;
    throw new AdminError(`${reply.__type}: ${message}`);
  }
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (mediaType !== AWS_JSON_1_1) throw notBusbar(`content-type "${contentType}", not ${AWS_JSON_1_1}`);
  const shape = REPLY_SHAPES[operation];
  const problem = shape === undefined ? undefined : shapeProblem(reply, shape);
  if (problem !== undefined) throw notBusbar(problem);
  return reply;
}
