/**
 * Accounts and their access keys, over the store: what `busbar accounts|keys` does on a data directory
 * and what Busbar's own API operations (CreateAccount, CreateAccessKey, …) do on a running server, so
 * that both check the same things and store the same records.
 *
 * An account has its `default` bus and a root key from the start. Keys made afterwards are never root
 * keys: they may do what their IAM-style policies allow.
 */
import { randomBytes, randomInt } from "node:crypto";
import { parsePolicy } from "../auth/index.js";
import { DEFAULT_BUS, busArn, parseArn } from "../buses/index.js";
import type { AccessKey, Account, Store } from "../store/index.js";

/** An account id: 12 digits. */
export const ACCOUNT_ID = /^\d{12}$/;
/** Longest account name (as AWS Organizations' AccountName). */
export const MAX_ACCOUNT_NAME_LENGTH = 50;
/** Most policies one key carries. */
export const MAX_POLICIES_PER_KEY = 10;
/** Longest policy document, in characters (as an IAM managed policy). */
export const MAX_POLICY_LENGTH = 6144;

/** Why an account or key operation was refused. */
export type AccountsProblem = "invalid" | "exists" | "not-found";

/** A refusal that names what is wrong; the API turns it into its error type, the CLI into exit code 2. */
export class AccountsError extends Error {
  override readonly name = "AccountsError";

  constructor(
    readonly problem: AccountsProblem,
    message: string,
  ) {
    super(message);
  }
}

/** An access key id and its secret. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A new access key id ("BB…", 20 characters) and a 40-character secret. */
export function generateCredentials(): Credentials {
  const bytes = randomBytes(18);
  let id = "BB";
  for (let i = 0; i < 18; i++) id += KEY_ID_ALPHABET[(bytes[i] as number) % 32];
  const secretAccessKey = randomBytes(30).toString("base64").replace(/\+/g, "A").replace(/\//g, "B");
  return { accessKeyId: id, secretAccessKey };
}

/**
 * The region a data directory's resources are of: that of its first account's `default` bus (the
 * account the first start made, before any other could be), or of `accountId`'s when given. Every ARN
 * Busbar stored names it, so that a node or a command of another region would make resources its
 * buses cannot see. Undefined for a store with no account yet.
 */
export async function regionOf(store: Store, accountId?: string): Promise<string | undefined> {
  let first: Account | undefined;
  if (accountId !== undefined) first = await store.getAccount(accountId);
  else {
    let nextToken: string | undefined;
    do {
      const page = await store.listAccounts({
        limit: 100,
        ...(nextToken === undefined ? {} : { nextToken }),
      });
      for (const account of page.items)
        if (first === undefined || account.createdAt < first.createdAt) first = account;
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
  }
  if (first === undefined) return undefined;
  const bus = await store.getBus(first.id, DEFAULT_BUS);
  return bus === undefined ? undefined : parseArn(bus.arn)?.region;
}

/** Every account has its `default` bus. */
export async function ensureDefaultBus(store: Store, region: string, accountId: string): Promise<void> {
  const now = Date.now();
  await store.createBus({
    accountId,
    name: DEFAULT_BUS,
    arn: busArn(region, accountId, DEFAULT_BUS),
    createdAt: now,
    lastModifiedAt: now,
  });
}

/**
 * Creates an account (a random id unless given) with its `default` bus and a root key.
 * @throws AccountsError "invalid" for a malformed id or name, "exists" when the id is taken.
 */
export async function createAccount(
  store: Store,
  region: string,
  options: { readonly id?: string | undefined; readonly name?: string | undefined } = {},
): Promise<{ account: Account; key: AccessKey }> {
  const id = options.id ?? String(randomInt(100_000_000_000, 1_000_000_000_000)).padStart(12, "0");
  if (!ACCOUNT_ID.test(id)) throw new AccountsError("invalid", `account id must be 12 digits, got "${id}"`);
  const name = options.name ?? id;
  if (name.length === 0 || name.length > MAX_ACCOUNT_NAME_LENGTH)
    throw new AccountsError("invalid", `account name must be 1 to ${MAX_ACCOUNT_NAME_LENGTH} characters`);
  const now = Date.now();
  const account: Account = { id, name, createdAt: now };
  if (!(await store.putAccount(account))) throw new AccountsError("exists", `account ${id} already exists`);
  await ensureDefaultBus(store, region, id);
  const key: AccessKey = {
    ...generateCredentials(),
    accountId: id,
    root: true,
    policies: [],
    createdAt: now,
  };
  await store.putAccessKey(key);
  return { account, key };
}

/**
 * Creates a (non-root) access key of an existing account with these policy documents (JSON text).
 * @throws AccountsError "invalid" for too many or malformed policies (naming the policy and what is
 *   wrong), "not-found" when the account does not exist.
 */
export async function createAccessKey(
  store: Store,
  accountId: string,
  policies: readonly string[],
): Promise<AccessKey> {
  if (policies.length > MAX_POLICIES_PER_KEY)
    throw new AccountsError("invalid", `a key carries at most ${MAX_POLICIES_PER_KEY} policies`);
  policies.forEach((text, i) => {
    if (text.length > MAX_POLICY_LENGTH)
      throw new AccountsError("invalid", `policy ${i + 1} is longer than ${MAX_POLICY_LENGTH} characters`);
    try {
      parsePolicy(text);
    } catch (e) {
      throw new AccountsError("invalid", `policy ${i + 1}: ${(e as Error).message}`);
    }
  });
  if ((await store.getAccount(accountId)) === undefined)
    throw new AccountsError("not-found", `account ${accountId} does not exist`);
  const key: AccessKey = {
    ...generateCredentials(),
    accountId,
    root: false,
    policies: [...policies],
    createdAt: Date.now(),
  };
  await store.putAccessKey(key);
  return key;
}

/**
 * Deletes an access key.
 * @throws AccountsError "not-found" when there is no such key.
 */
export async function deleteAccessKey(store: Store, accessKeyId: string): Promise<void> {
  if (!(await store.deleteAccessKey(accessKeyId)))
    throw new AccountsError("not-found", `access key ${accessKeyId} does not exist`);
}
