/**
 * Paging of name-ordered list operations. A page is read as "names after the last one returned, from
 * the prefix on", one row more than the limit to learn whether another page follows. Names sharing a
 * prefix are contiguous in SQLite's binary order, so the prefix filter needs no LIKE pattern (and no
 * wildcard escaping): the page stops at the first name that does not start with it.
 */
import type { ListOptions, Page } from "../types.js";
import { InvalidNextTokenError } from "./errors.js";

/** Items per page when `limit` is not given. */
export const DEFAULT_PAGE_LIMIT = 100;

/** Most items per page; a larger `limit` is lowered to this. */
export const MAX_PAGE_LIMIT = 100;

/** Which list operation a token belongs to, so that a token of one is refused by another. */
export const PageScope = {
  Accounts: "accounts",
  AccessKeys: "access-keys",
  Buses: "buses",
  Rules: "rules",
  RuleNamesByTarget: "rule-names-by-target",
  Queues: "queues",
  DeadLetterSourceQueues: "dead-letter-source-queues",
  Connections: "connections",
  ApiDestinations: "api-destinations",
} as const;
export type PageScope = (typeof PageScope)[keyof typeof PageScope];

/** Bind parameters of a page query. */
export interface PageParams {
  /** Names must sort after this one ("" on the first page). */
  readonly after: string;
  /** Names must sort at or after this one ("" without a prefix). */
  readonly prefix: string;
  /** Rows to read: the page size plus one. */
  readonly fetch: number;
}

/** A page request, decoded and normalised. */
export interface PageRequest {
  readonly scope: PageScope;
  readonly prefix: string;
  readonly limit: number;
  readonly params: PageParams;
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The page size for a requested `limit`: the default when absent, else clamped to 1…{@link MAX_PAGE_LIMIT}. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
}

/** The opaque token that resumes a listing after `lastName`: base64url of `[scope, lastName]` as JSON. */
export function encodeNextToken(scope: PageScope, lastName: string): string {
  return Buffer.from(JSON.stringify([scope, lastName]), "utf8").toString("base64url");
}

/**
 * The last name a token resumes after.
 * @throws {InvalidNextTokenError} when the token was not issued by a listing of this scope.
 */
export function decodeNextToken(scope: PageScope, token: string): string {
  if (!TOKEN_SHAPE.test(token)) throw new InvalidNextTokenError(token);
  const bytes = Buffer.from(token, "base64url");
  if (bytes.toString("base64url") !== token) throw new InvalidNextTokenError(token);
  let decoded: unknown;
  try {
    decoded = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new InvalidNextTokenError(token);
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    decoded[0] !== scope ||
    typeof decoded[1] !== "string" ||
    decoded[1] === ""
  ) {
    throw new InvalidNextTokenError(token);
  }
  return decoded[1];
}

/**
 * Decodes and normalises the options of a listing.
 * @throws {InvalidNextTokenError} when `nextToken` is not valid for this scope.
 */
export function pageRequest(scope: PageScope, options: ListOptions | undefined): PageRequest {
  const limit = pageLimit(options?.limit);
  const prefix = options?.prefix ?? "";
  const after = options?.nextToken === undefined ? "" : decodeNextToken(scope, options.nextToken);
  return { scope, prefix, limit, params: { after, prefix, fetch: limit + 1 } };
}

/**
 * Builds a page from rows read with {@link PageRequest.params}: keeps the rows whose name starts with
 * the prefix, at most `limit` of them, and a token when more follow.
 */
export function toPage<T>(request: PageRequest, rows: readonly T[], nameOf: (item: T) => string): Page<T> {
  const matching: T[] = [];
  for (const row of rows) {
    if (!nameOf(row).startsWith(request.prefix)) break;
    matching.push(row);
  }
  if (matching.length <= request.limit) return { items: matching };
  const items = matching.slice(0, request.limit);
  const last = items[items.length - 1];
  if (last === undefined) return { items };
  return { items, nextToken: encodeNextToken(request.scope, nameOf(last)) };
}

/**
 * The name under which a listing ordered by (account, name) resumes: both parts as a JSON array, so
 * that {@link toPage} can carry it in a token like any other name.
 */
export function accountAndName(accountId: string, name: string): string {
  return JSON.stringify([accountId, name]);
}

/**
 * The (account, name) a listing ordered by both resumes after: `["", ""]` on the first page.
 * @throws {InvalidNextTokenError} when the token's name is not one of {@link accountAndName}.
 */
export function afterAccountAndName(request: PageRequest, token: string | undefined): [string, string] {
  if (request.params.after === "") return ["", ""];
  let decoded: unknown;
  try {
    decoded = JSON.parse(request.params.after);
  } catch {
    decoded = undefined;
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    typeof decoded[0] !== "string" ||
    typeof decoded[1] !== "string"
  ) {
    throw new InvalidNextTokenError(token ?? "");
  }
  return [decoded[0], decoded[1]];
}
