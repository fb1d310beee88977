/**
 * The SigV4 signature of a request, computed with `@smithy/signature-v4`, the signer of the AWS SDK for
 * JavaScript v3: its `SignatureV4Base` (path normalisation and double URI-encoding, query
 * canonicalisation, the canonical request and the string to sign), `getCanonicalHeaders` (trimming and
 * collapsing header values) and `getSigningKey`, fed exactly the headers the client listed in
 * `SignedHeaders`.
 *
 * `SignatureV4.sign` itself is not used: it deletes and regenerates `X-Amz-Date` and `Date` and picks
 * the headers to sign by its own rules (never `user-agent`, always `x-amz-date`), so it cannot reproduce
 * the canonical request of an arbitrary client. botocore (the AWS CLI) canonicalises the same way as
 * the SDK for these services: both double-encode the path and sort encoded query parameters.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request
 */
import { createHash, createHmac } from "node:crypto";
import {
  ALGORITHM_IDENTIFIER,
  SignatureV4Base,
  createScope,
  getCanonicalHeaders,
  getSigningKey,
} from "@smithy/signature-v4";

/** What enters a signature: the request as received, narrowed to the signed headers, and the scope. */
export interface SignatureInput {
  readonly method: string;
  /** Percent-encoded, as on the request line. */
  readonly path: string;
  /** Raw query string, as on the request line, without `?`. */
  readonly query: string;
  /** Exactly the signed headers, lower-case names, repeated values already joined with `,`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly payloadHash: string;
  /** `yyyymmddThhmmssZ`. */
  readonly longDate: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** SHA-256 (or HMAC-SHA256 when given a key) on node:crypto, in the shape `@smithy/signature-v4` expects. */
export class NodeSha256 {
  readonly #hash;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBinary(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView, encoding?: "utf8" | "ascii" | "latin1"): void {
    if (typeof data === "string") this.#hash.update(data, encoding ?? "utf8");
    else this.#hash.update(toBinary(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

function toBinary(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

type SmithyRequest = Parameters<typeof getCanonicalHeaders>[0];

/** Exposes the canonicalisation of `SignatureV4Base` (protected there) without a request-rewriting `sign`. */
class StringToSignBuilder extends SignatureV4Base {
  constructor() {
    // Credentials and region are never read: every call passes its own scope and key.
    super({
      service: "",
      region: "",
      credentials: { accessKeyId: "", secretAccessKey: "" },
      sha256: NodeSha256,
    });
  }

  build(request: SmithyRequest, payloadHash: string, longDate: string, scope: string): Promise<string> {
    // Every header given is signed: signableHeaders overrides the library's never-sign list.
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(Object.keys(request.headers)));
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
    return this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
  }
}

const builder = new StringToSignBuilder();

/**
 * Computes the hex signature of a request.
 * @throws URIError when the path holds a lone surrogate and cannot be URI-encoded.
 */
export async function computeSignature(input: SignatureInput): Promise<string> {
  const headers = Object.assign(Object.create(null) as Record<string, string>, input.headers);
  const request: SmithyRequest = {
    method: input.method.toUpperCase(),
    protocol: "http:",
    hostname: "",
    path: input.path,
    query: parseQuery(input.query),
    headers,
  };
  const scope = createScope(input.scopeDate, input.region, input.service);
  const stringToSign = await builder.build(request, input.payloadHash, input.longDate, scope);
  const key = await signingKey(input);
  return createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
}

/** Signing keys by secret and scope: a key serves every request of its day, region and service. */
const signingKeys = new Map<string, Uint8Array>();
const MAX_SIGNING_KEYS = 1024;

/**
 * The derived signing key (four HMACs of the secret), cached. `getSigningKey` has a cache of its own,
 * but computes an HMAC of the credentials for every lookup; this one looks up by plain strings.
 */
async function signingKey(input: SignatureInput): Promise<Uint8Array> {
  const cacheKey = `${input.scopeDate}\0${input.region}\0${input.service}\0${input.accessKeyId}\0${input.secretAccessKey}`;
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) return cached;
  const key = await getSigningKey(
    NodeSha256,
    { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    input.scopeDate,
    input.region,
    input.service,
  );
  if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
  signingKeys.set(cacheKey, key);
  return key;
}

/**
 * Splits a raw query string into decoded names and values for `getCanonicalQuery`, which re-encodes
 * them (RFC 3986 unreserved characters stay, everything else is `%XX`), sorts by name and, for a
 * repeated name, by value. A parameter without `=` has the empty value (`flag` canonicalises as
 * `flag=`), as in botocore and the spec. `+` is a plus sign, not a space.
 */
export function parseQuery(query: string): Record<string, string | string[]> {
  const result = Object.create(null) as Record<string, string | string[]>;
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = safeDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : safeDecode(pair.slice(eq + 1));
    const existing = result[name];
    result[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return result;
}

function safeDecode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component; // Malformed escapes are re-encoded as given, so the signature cannot match.
  }
}
