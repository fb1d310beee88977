/**
 * Parsing of the SigV4 `Authorization` header and of the request timestamp (`X-Amz-Date` or `Date`).
 * Everything here is syntax: a failure is an `IncompleteSignatureException`, as AWS answers it.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { IncompleteSignatureError } from "./errors.js";

/** The only signing algorithm Busbar verifies. */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** The terminator of every SigV4 credential scope. */
export const SIGV4_SCOPE_TERMINATOR = "aws4_request";

/** Request headers as node:http gives them: lower-case names, repeated headers possibly as arrays. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The parts of a SigV4 `Authorization` header. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  /** `yyyymmdd` of the credential scope. */
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  /** Lower-case header names, in the order the client listed them. */
  readonly signedHeaders: readonly string[];
  /** 64 lower-case hex digits. */
  readonly signature: string;
}

/** The request timestamp the signature covers. */
export interface RequestTimestamp {
  /** ISO 8601 basic format, `yyyymmddThhmmssZ`, as it enters the string to sign. */
  readonly longDate: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const SCOPE_DATE = /^\d{8}$/;
const BASIC_ISO = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const REQUIRED = ["Credential", "SignedHeaders", "Signature"] as const;

/**
 * Reads one header. A header node:http gives as an array (it repeats) is joined with `,` after trimming
 * each value, as the SigV4 canonical form joins repeated headers.
 */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  if (value === undefined || typeof value === "string") return value;
  return value.length === 0 ? undefined : value.map((v) => v.trim()).join(",");
}

/** What the header says before its signature, by that text: a client's requests all repeat it. */
const parsedPrefixes = new Map<string, Omit<ParsedAuthorization, "signature">>();
const MAX_PARSED_PREFIXES = 1024;
const SIGNATURE_PARAMETER = "Signature=";
/** A prefix whose parse holds for any signature after it: it ends its last parameter with a comma. */
const ENDS_PARAMETER = /,[ \t]*$/;

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request, SignedHeaders=a;b,
 * Signature=hex`. Parameters may come in any order; unknown parameters are ignored.
 *
 * Headers that end `, Signature=<64 lower-case hex digits>`, as the SDKs and the CLI write them, are
 * read once per distinct text before the signature: when that text ends with a comma, the signature is
 * a parameter of its own, so the rest parses the same whatever signature follows; its parse is kept.
 * @throws IncompleteSignatureError naming what is missing or malformed.
 */
export function parseAuthorization(header: string): ParsedAuthorization {
  const at = header.lastIndexOf(SIGNATURE_PARAMETER);
  const prefix = at > 0 && header.length - at === SIGNATURE_PARAMETER.length + 64 ? header.slice(0, at) : "";
  const signature = header.slice(at + SIGNATURE_PARAMETER.length);
  if (prefix !== "") {
    const known = parsedPrefixes.get(prefix);
    if (known !== undefined && SIGNATURE.test(signature)) return { ...known, signature };
  }
  const parsed = parseAuthorizationText(header);
  if (prefix !== "" && ENDS_PARAMETER.test(prefix) && parsed.signature === signature) {
    if (parsedPrefixes.size >= MAX_PARSED_PREFIXES) parsedPrefixes.clear();
    const { signature: _signature, ...rest } = parsed;
    parsedPrefixes.set(prefix, rest);
  }
  return parsed;
}

function parseAuthorizationText(header: string): ParsedAuthorization {
  const trimmed = header.trim();
  const space = trimmed.indexOf(" ");
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new IncompleteSignatureError(
      `Unsupported Authorization scheme ${quoted(algorithm)}; only ${SIGV4_ALGORITHM} is supported.`,
    );
  }
  const params = new Map<string, string>();
  for (const part of (space === -1 ? "" : trimmed.slice(space + 1)).split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq === -1) {
      throw new IncompleteSignatureError(
        `A parameter of the Authorization header is not a valid key=value pair (missing equal-sign).`,
      );
    }
    const key = item.slice(0, eq).trim();
    if (params.has(key)) {
      throw new IncompleteSignatureError(`Authorization header repeats the ${quoted(key)} parameter.`);
    }
    params.set(key, item.slice(eq + 1).trim());
  }
  const missing = REQUIRED.filter((key) => !params.has(key));
  if (missing.length > 0) {
    throw new IncompleteSignatureError(
      missing.map((key) => `Authorization header requires '${key}' parameter.`).join(" "),
    );
  }
  return {
    ...parseCredential(params.get("Credential") ?? ""),
    signedHeaders: parseSignedHeaders(params.get("SignedHeaders") ?? ""),
    signature: parseSignature(params.get("Signature") ?? ""),
  };
}

function parseCredential(credential: string): Omit<ParsedAuthorization, "signedHeaders" | "signature"> {
  const parts = credential.split("/");
  if (parts.length !== 5) {
    throw new IncompleteSignatureError(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term; got ${parts.length}.`,
    );
  }
  const empty = parts.findIndex((p) => p === "");
  if (empty !== -1) {
    const names = ["access key id", "date", "region", "service", "terminator"];
    throw new IncompleteSignatureError(
      `Credential has an empty ${names[empty]} (keyid/date/region/service/term).`,
    );
  }
  const [accessKeyId = "", scopeDate = "", region = "", service = "", terminator = ""] = parts;
  if (!SCOPE_DATE.test(scopeDate)) {
    throw new IncompleteSignatureError(
      `Credential scope date must be in the form yyyymmdd; got ${quoted(scopeDate)}.`,
    );
  }
  if (terminator !== SIGV4_SCOPE_TERMINATOR) {
    throw new IncompleteSignatureError(
      `Credential should be scoped with a valid terminator: '${SIGV4_SCOPE_TERMINATOR}', not ${quoted(terminator)}.`,
    );
  }
  return { accessKeyId, scopeDate, region, service };
}

function parseSignedHeaders(value: string): string[] {
  const names = value === "" ? [] : value.split(";").map((n) => n.trim().toLowerCase());
  if (names.length === 0 || names.some((n) => !HEADER_NAME.test(n))) {
    throw new IncompleteSignatureError(
      "SignedHeaders must be a semicolon-separated list of header names, e.g. host;x-amz-date.",
    );
  }
  if (!names.includes("host")) {
    throw new IncompleteSignatureError("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return names;
}

function parseSignature(value: string): string {
  const signature = value.toLowerCase();
  if (!SIGNATURE.test(signature)) {
    throw new IncompleteSignatureError("Signature must be 64 hexadecimal digits.");
  }
  return signature;
}

/**
 * Reads the request timestamp: `X-Amz-Date` in ISO 8601 basic format, else `Date` (an HTTP date, or
 * the basic format).
 * @throws IncompleteSignatureError when neither header is present or the one used is malformed.
 */
export function parseRequestTimestamp(headers: RequestHeaders): RequestTimestamp {
  const amzDate = headerValue(headers, "x-amz-date");
  if (amzDate !== undefined) {
    const time = parseBasicIso(amzDate.trim());
    if (time === undefined) {
      throw new IncompleteSignatureError(
        `X-Amz-Date must be in ISO 8601 basic format (yyyymmddThhmmssZ); got ${quoted(amzDate)}.`,
      );
    }
    return { longDate: amzDate.trim(), time };
  }
  const date = headerValue(headers, "date");
  if (date !== undefined) {
    const time = parseBasicIso(date.trim()) ?? parseHttpDate(date);
    if (time === undefined) {
      throw new IncompleteSignatureError(`Date must be an HTTP date; got ${quoted(date)}.`);
    }
    return { longDate: formatBasicIso(time), time };
  }
  throw new IncompleteSignatureError(
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
  );
}

/** Formats a time as `yyyymmddThhmmssZ`. */
export function formatBasicIso(time: number): string {
  return new Date(time)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

let lastBasicIso = "";
let lastBasicIsoTime: number | undefined;

function parseBasicIso(value: string): number | undefined {
  // Concurrent requests mostly carry the same second: the last answer is kept.
  if (value === lastBasicIso) return lastBasicIsoTime;
  lastBasicIsoTime = parseBasicIsoUncached(value);
  lastBasicIso = value;
  return lastBasicIsoTime;
}

function parseBasicIsoUncached(value: string): number | undefined {
  const m = BASIC_ISO.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const time = Date.UTC(y ?? 0, (mo ?? 0) - 1, d, h, mi, s);
  // Reject dates that Date.UTC would roll over, such as 20240231T000000Z.
  return formatBasicIso(time) === value ? time : undefined;
}

function parseHttpDate(value: string): number | undefined {
  // IMF-fixdate, RFC 850 and asctime() forms all carry a weekday name; anything else is not an HTTP date.
  if (!/^[A-Za-z]{3}/.test(value.trim())) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * Quotes a short token for an error message. Anything longer or with other characters is not echoed:
 * a misplaced secret (40 characters of base64) or bearer token must never reach a message.
 */
function quoted(value: string): string {
  return /^[A-Za-z0-9_.:-]{1,32}$/.test(value) ? `'${value}'` : "a malformed value";
}
