/**
 * Verification of AWS Signature Version 4 header authentication, as the AWS SDKs and the AWS CLI sign
 * requests to the JSON protocol services (EventBridge, SQS). The signature itself is recomputed by
 * `canonical-request.ts` with `@smithy/signature-v4`.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { UNSIGNED_PAYLOAD } from "@smithy/signature-v4";
import {
  formatBasicIso,
  headerValue,
  parseAuthorization,
  parseRequestTimestamp,
  type ParsedAuthorization,
  type RequestHeaders,
  type RequestTimestamp,
} from "./authorization-header.js";
import { computeSignature } from "./canonical-request.js";
import {
  AuthErrorCode,
  IncompleteSignatureError,
  InvalidSignatureError,
  MissingAuthenticationTokenError,
  UnrecognizedClientError,
} from "./errors.js";

/** How far the request timestamp may be from the server clock, either way: 15 minutes, as AWS allows. */
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

/** An HTTP request as the server received it. */
export interface SignedRequest {
  readonly method: string;
  /** The path exactly as on the request line, still percent-encoded, without the query. */
  readonly path: string;
  /** The query string exactly as on the request line, without the `?`; `""` when there is none. */
  readonly query: string;
  /**
   * Lower-case header names, as node:http gives them. Pass `req.headersDistinct` to have repeated headers
   * canonicalised exactly (node:http joins most repeated headers with `", "` in `req.headers`).
   */
  readonly headers: RequestHeaders;
  readonly body: Buffer;
}

/** Finds the secret of an access key; `undefined` for an unknown key. */
/** An access key's secret, and the account it belongs to where the caller knows it. */
export type CredentialLookup = (
  accessKeyId: string,
) => Promise<{ secretAccessKey: string; accountId?: string | undefined } | undefined>;

/** Options of {@link verifySignature}. */
export interface VerifyOptions {
  /** The server clock. @default Date.now */
  readonly now?: () => number;
  /** The largest allowed distance between the request timestamp and `now()`. @default DEFAULT_MAX_SKEW_MS */
  readonly maxSkewMs?: number;
  /** When set, the credential scope must name this service (`events`, `sqs`). @default any service */
  readonly service?: string;
  /** When set, the credential scope must name this region. @default any region */
  readonly region?: string;
}

/** Who signed a verified request, and the scope and time of the signature. */
export interface VerifiedSignature {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  /** The request timestamp (`X-Amz-Date`, else `Date`). */
  readonly date: Date;
}

/**
 * Verifies the SigV4 `Authorization` header of a request.
 *
 * Checks, in order: the header is present and well formed (`Host` signed, and `X-Amz-Target` when the
 * request has one: it names the operation); a timestamp is present and
 * well formed; the credential scope names the timestamp's date (and `options.service`/`options.region`
 * when set); the timestamp is within `maxSkewMs` of `now()`; the access key is known; an
 * `X-Amz-Content-SHA256` header, when present, is the SHA-256 of the body (`UNSIGNED-PAYLOAD` is
 * refused: no EventBridge or SQS operation has the `@unsignedPayload` trait, so AWS SDKs and the CLI
 * always sign the payload); the signature over exactly the client's `SignedHeaders` matches, compared
 * in constant time.
 * @throws MissingAuthenticationTokenError, IncompleteSignatureError, InvalidSignatureError or
 *   UnrecognizedClientError; whatever `lookup` throws.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
export async function verifySignature(
  request: SignedRequest,
  lookup: CredentialLookup,
  options: VerifyOptions = {},
): Promise<VerifiedSignature> {
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (!Number.isFinite(maxSkewMs) || maxSkewMs < 0) {
    throw new RangeError(`maxSkewMs must be a non-negative finite number; got ${maxSkewMs}`);
  }
  const auth = parseAuthorization(authorizationHeader(request));
  // X-Amz-Target names the operation: unsigned, a captured request could be replayed as another one.
  if (Object.hasOwn(request.headers, "x-amz-target") && !auth.signedHeaders.includes("x-amz-target")) {
    throw new IncompleteSignatureError(
      "The X-Amz-Target header must be signed: list x-amz-target in the SignedHeaders of the Authorization header.",
    );
  }
  const timestamp = parseRequestTimestamp(request.headers);
  checkScope(auth, timestamp, options);
  checkSkew(timestamp, (options.now ?? Date.now)(), maxSkewMs);

  const credentials = await lookup(auth.accessKeyId);
  if (credentials === undefined) throw new UnrecognizedClientError();

  const payloadHash = declaredPayloadHash(request);
  const expected = signatureOf(request, auth, timestamp, payloadHash, credentials.secretAccessKey);
  if (!timingSafeEqual(Buffer.from(expected, "latin1"), Buffer.from(auth.signature, "latin1"))) {
    throw signatureMismatch();
  }
  return {
    accessKeyId: auth.accessKeyId,
    region: auth.region,
    service: auth.service,
    date: new Date(timestamp.time),
  };
}

/**
 * The access key a request names (and its account, where `lookup` says), read from its `Authorization` header alone, before its body (and so
 * without the signature, which covers the body): a request that names no key this server knows can be
 * refused before it holds any. Verifying the signature is still {@link verifySignature}'s work.
 * @throws MissingAuthenticationTokenError, IncompleteSignatureError or UnrecognizedClientError, as
 *   verifySignature would for the same header; whatever `lookup` throws.
 */
export async function claimedAccessKey(
  request: Pick<SignedRequest, "headers" | "query">,
  lookup: CredentialLookup,
): Promise<{ readonly accessKeyId: string; readonly accountId: string | undefined }> {
  const { accessKeyId } = parseAuthorization(authorizationHeader(request));
  const found = await lookup(accessKeyId);
  if (found === undefined) throw new UnrecognizedClientError();
  return { accessKeyId, accountId: found.accountId };
}

function authorizationHeader(request: Pick<SignedRequest, "headers" | "query">): string {
  const raw = Object.hasOwn(request.headers, "authorization") ? request.headers["authorization"] : undefined;
  if (Array.isArray(raw) && raw.length > 1) {
    throw new IncompleteSignatureError("The request has more than one Authorization header.");
  }
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === "") {
    const presigned = /(^|&)X-Amz-(Signature|Credential)=/i.test(request.query);
    throw new MissingAuthenticationTokenError(
      presigned
        ? "query-string (presigned) authentication is not supported; use an Authorization header"
        : undefined,
    );
  }
  return value;
}

function checkScope(auth: ParsedAuthorization, timestamp: RequestTimestamp, options: VerifyOptions): void {
  const date = timestamp.longDate.slice(0, 8);
  if (auth.scopeDate !== date) {
    throw new InvalidSignatureError(
      AuthErrorCode.CredentialScopeMismatch,
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${auth.scopeDate}' != '${date}', from '${timestamp.longDate}'.`,
    );
  }
  if (options.service !== undefined && auth.service !== options.service) {
    throw new InvalidSignatureError(
      AuthErrorCode.CredentialScopeMismatch,
      `Credential should be scoped to correct service: '${options.service}'.`,
    );
  }
  if (options.region !== undefined && auth.region !== options.region) {
    throw new InvalidSignatureError(
      AuthErrorCode.CredentialScopeMismatch,
      `Credential should be scoped to a valid region: '${options.region}'.`,
    );
  }
}

function checkSkew(timestamp: RequestTimestamp, now: number, maxSkewMs: number): void {
  const minutes = `${maxSkewMs / 60_000} min.`;
  if (timestamp.time < now - maxSkewMs) {
    throw new InvalidSignatureError(
      AuthErrorCode.SignatureExpired,
      `Signature expired: ${timestamp.longDate} is now earlier than ${formatBasicIso(now - maxSkewMs)} ` +
        `(${formatBasicIso(now)} - ${minutes})`,
    );
  }
  if (timestamp.time > now + maxSkewMs) {
    throw new InvalidSignatureError(
      AuthErrorCode.SignatureNotYetCurrent,
      `Signature not yet current: ${timestamp.longDate} is still later than ${formatBasicIso(now + maxSkewMs)} ` +
        `(${formatBasicIso(now)} + ${minutes})`,
    );
  }
}

/**
 * The payload hash of the canonical request: the `X-Amz-Content-SHA256` header when present (as the
 * SDKs and botocore put it there), after checking it is the hash of the body; else the body's hash.
 */
function declaredPayloadHash(request: SignedRequest): string {
  const bodyHash = createHash("sha256").update(request.body).digest("hex");
  const declared = headerValue(request.headers, "x-amz-content-sha256");
  if (declared === undefined) return bodyHash;
  if (declared === UNSIGNED_PAYLOAD || declared.startsWith("STREAMING-")) {
    throw new InvalidSignatureError(
      AuthErrorCode.UnsignedPayload,
      `X-Amz-Content-SHA256 '${declared.slice(0, 48)}' is not accepted; sign the payload with its SHA-256.`,
    );
  }
  if (declared.toLowerCase() !== bodyHash) {
    throw new InvalidSignatureError(
      AuthErrorCode.ContentSha256Mismatch,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  return declared;
}

function signatureOf(
  request: SignedRequest,
  auth: ParsedAuthorization,
  timestamp: RequestTimestamp,
  payloadHash: string,
  secretAccessKey: string,
): string {
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined) throw signatureMismatch(`signed header '${name}' is absent from the request`);
    Object.defineProperty(headers, name, { value, enumerable: true });
  }
  try {
    return computeSignature({
      method: request.method,
      path: request.path,
      query: request.query,
      headers,
      payloadHash,
      longDate: timestamp.longDate,
      scopeDate: auth.scopeDate,
      region: auth.region,
      service: auth.service,
      accessKeyId: auth.accessKeyId,
      secretAccessKey,
    });
  } catch (error) {
    // encodeURIComponent throws on lone surrogates: such a path cannot have been signed as given.
    if (error instanceof URIError) throw signatureMismatch("the path cannot be canonicalised");
    throw error;
  }
}

function signatureMismatch(detail?: string): InvalidSignatureError {
  return new InvalidSignatureError(
    AuthErrorCode.SignatureDoesNotMatch,
    "The request signature we calculated does not match the signature you provided. Check your AWS " +
      "Secret Access Key and signing method. Consult the service documentation for details." +
      (detail === undefined ? "" : ` (${detail})`),
  );
}
