/**
 * The SigV4 signature of a request, canonicalised as `@smithy/signature-v4` (the signer of the AWS SDK
 * for JavaScript v3) does it: its `SignatureV4Base` path normalisation and double URI-encoding and its
 * `getCanonicalQuery`; header values trimmed and collapsed as its `getCanonicalHeaders` does, and the
 * canonical request, string to sign and signing key as its `SignatureV4Base` and `getSigningKey` build
 * them, fed exactly the headers the client listed in `SignedHeaders`. `canonical-request.test.ts` holds
 * this to the library on paths, queries and header values.
 *
 * `SignatureV4.sign` itself is not used: it deletes and regenerates `X-Amz-Date` and `Date` and picks
 * the headers to sign by its own rules (never `user-agent`, always `x-amz-date`), so it cannot reproduce
 * the canonical request of an arbitrary client. botocore (the AWS CLI) canonicalises the same way as
 * the SDK for these services: both double-encode the path and sort encoded query parameters.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request
 */
import { createHash, createHmac, hash } from "node:crypto";
import {
  ALGORITHM_IDENTIFIER,
  KEY_TYPE_IDENTIFIER,
  SignatureV4Base,
  createScope,
  getCanonicalQuery,
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

type SmithyRequest = Parameters<typeof getCanonicalQuery>[0];

/** Exposes `SignatureV4Base`'s path canonicalisation (private there, the second line of its canonical request). */
class PathCanonicaliser extends SignatureV4Base {
  constructor() {
    // Nothing here is read: only the path canonicalisation is used.
    super({
      service: "",
      region: "",
      credentials: { accessKeyId: "", secretAccessKey: "" },
      sha256: NodeSha256,
    });
  }

  canonicalPath(path: string): string {
    const request = { method: "", protocol: "http:", hostname: "", path, query: {}, headers: {} };
    return this.createCanonicalRequest(request, {}, "").split("\n")[1] ?? "";
  }
}

const paths = new PathCanonicaliser();

/**
 * Computes the hex signature of a request. The canonical request is built here, as the SDK's
 * `createCanonicalRequest` builds it, with the library's path and query canonicalisation (skipped for
 * the JSON protocols' `/` and empty query, which they leave unchanged), then hashed and signed in one
 * call each: the library's own builder, awaiting a promise per hash, cost twice as much per request.
 * @throws URIError when the path holds a lone surrogate and cannot be URI-encoded.
 */
export function computeSignature(input: SignatureInput): string {
  const names = Object.keys(input.headers).sort();
  let canonicalHeaders = "";
  for (const name of names)
    canonicalHeaders += `${name}:${canonicalHeaderValue(input.headers[name] ?? "")}\n`;
  const path = input.path === "/" ? "/" : paths.canonicalPath(input.path);
  const query =
    input.query === "" ? "" : getCanonicalQuery({ query: parseQuery(input.query) } as SmithyRequest);
  const canonicalRequest = `${input.method.toUpperCase()}\n${path}\n${query}\n${canonicalHeaders}\n${names.join(";")}\n${input.payloadHash}`;
  const scope = createScope(input.scopeDate, input.region, input.service);
  const stringToSign = `${ALGORITHM_IDENTIFIER}\n${input.longDate}\n${scope}\n${hash("sha256", canonicalRequest, "hex")}`;
  return createHmac("sha256", signingKey(input)).update(stringToSign, "utf8").digest("hex");
}

/** What a header value needs rewritten: line breaks, tabs, runs of spaces, a space at either end. */
const UNTRIMMED = /[\r\n\t]| {2}|^ | $/;

/** A header value as `getCanonicalHeaders` canonicalises it: whitespace runs collapsed to one space, trimmed. */
function canonicalHeaderValue(value: string): string {
  if (!UNTRIMMED.test(value)) return value;
  return value
    .replace(/[\r\n]/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/^ | $/g, "");
}

/** Signing keys by secret and scope: a key serves every request of its day, region and service. */
const signingKeys = new Map<string, Buffer>();
const MAX_SIGNING_KEYS = 1024;

/** The derived signing key (four HMACs of the secret, as `getSigningKey` derives it), cached. */
function signingKey(input: SignatureInput): Buffer {
  const cacheKey = `${input.scopeDate}\0${input.region}\0${input.service}\0${input.accessKeyId}\0${input.secretAccessKey}`;
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) return cached;
  let key = Buffer.from(`AWS4${input.secretAccessKey}`, "utf8");
  for (const part of [input.scopeDate, input.region, input.service, KEY_TYPE_IDENTIFIER]) {
    key = createHmac("sha256", key).update(part, "utf8").digest();
  }
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
