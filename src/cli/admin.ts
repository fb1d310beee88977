/**
 * `busbar accounts create|list` and `busbar keys create|list|delete`: manage accounts and access keys,
 * either in a data directory (`--data-dir`; the store is SQLite in WAL mode, so this works beside a
 * running server on the same directory, which sees new keys within seconds) or on a running server
 * (`--endpoint URL`, through Busbar's own API operations, signed with the credentials of
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Both print the same JSON.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  ACCOUNT_ID,
  AccountsError,
  createAccessKey,
  createAccount as createAccountIn,
  deleteAccessKey,
  regionOf,
} from "../accounts/index.js";
import { resolveDataDir, resolveRegion } from "../config/index.js";
import {
  DEFAULT_SQLITE_FILE_NAME,
  StoreErrorCode,
  allItems,
  openSqliteStore,
  type AccessKey,
  type Store,
} from "../store/index.js";
import { OutputError, writeFailure, type Output } from "./output.js";
import { readInput } from "./read-input.js";
import { AdminError, callRemote, callRemoteAllPages, printJson, remoteFor, type Place } from "./remote.js";

export { AdminError, type Place } from "./remote.js";

/** Length of SQLite's database header; the schema version (`user_version`) is at offset 60. */
const SQLITE_HEADER_BYTES = 100;
const SQLITE_MAGIC = "SQLite format 3\0";
const USER_VERSION_OFFSET = 60;

/** The first bytes of `file`, up to `length`. */
function readHead(file: string, length: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(length);
    return head.subarray(0, readSync(fd, head, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Whether a write-ahead log with pages in it lies beside `file`. */
function hasLog(file: string): boolean {
  try {
    return statSync(`${file}-wal`).size > 0;
  } catch {
    return false;
  }
}

/**
 * Refuses a data directory `busbar serve` never made, before the store opens it (and would make or
 * migrate a database there that no server reads): one without a busbar.db (a typo in the path), or
 * whose busbar.db is empty, not SQLite, or without Busbar's schema. The schema version is read from
 * the file's header, unless a write-ahead log is there: a running server's newest pages, its schema
 * on a first start among them, may be in the log alone.
 * @see https://www.sqlite.org/fileformat2.html#the_database_header
 * @throws AdminError naming the directory and what is wrong.
 */
function checkDataDir(dataDir: string): void {
  const file = join(dataDir, DEFAULT_SQLITE_FILE_NAME);
  const notBusbar = (why: string) =>
    new AdminError(
      `${dataDir} is not a Busbar data directory (${why}): check --data-dir ` +
        "(or BUSBAR_DATA_DIR), run `busbar serve` on it once first, or use --endpoint with a running server",
    );
  let head: Buffer;
  try {
    head = readHead(file, SQLITE_HEADER_BYTES);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw notBusbar(`it has no ${DEFAULT_SQLITE_FILE_NAME}`);
    if (code === "EISDIR") throw notBusbar(`its ${DEFAULT_SQLITE_FILE_NAME} is a directory`);
    throw new AdminError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (head.length === 0) throw notBusbar(`its ${DEFAULT_SQLITE_FILE_NAME} is empty`);
  if (head.length < SQLITE_HEADER_BYTES || head.toString("latin1", 0, SQLITE_MAGIC.length) !== SQLITE_MAGIC)
    throw notBusbar(`its ${DEFAULT_SQLITE_FILE_NAME} is not a SQLite database`);
  if (head.readUInt32BE(USER_VERSION_OFFSET) === 0 && !hasLog(file))
    throw notBusbar(`its ${DEFAULT_SQLITE_FILE_NAME} has no Busbar schema`);
}

/** The store of a data directory `busbar serve` made; why it cannot be opened, naming the file. */
function openDataDir(dataDir: string): Store {
  checkDataDir(dataDir);
  const file = join(dataDir, DEFAULT_SQLITE_FILE_NAME);
  try {
    // An older schema is refused, not migrated: an older server may be running on the directory.
    return openSqliteStore({ dataDir, upgrade: false });
  } catch (e) {
    // The store's errors name the file already ("cannot open <file> as a Busbar database: …", "The
    // database <file> has schema version …"); anything else does not.
    const message = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    throw new AdminError(
      code === StoreErrorCode.Open || code === StoreErrorCode.SchemaVersion
        ? message
        : `cannot open ${file}: ${message}`,
    );
  }
}

async function withStore<T>(
  place: Place,
  f: (store: Store, region: () => Promise<string>) => Promise<T>,
): Promise<T> {
  // Only what a data directory needs is read: a BUSBAR_PORT for the server does not matter here.
  const asked = resolveRegion(place.region);
  const dataDir = resolveDataDir(place.dataDir);
  const store = openDataDir(dataDir);
  // The directory's own region, which the ARNs of what a command makes must name; a region given
  // that is not it is refused (an account of it would have a bus no rule or policy of the node names).
  const region = async (): Promise<string> => {
    const stored = await regionOf(store);
    if (stored === undefined || stored === asked) return asked;
    const given = place.region !== undefined || (process.env.BUSBAR_REGION ?? "") !== "";
    if (!given) return stored;
    throw new AdminError(
      `${dataDir} is of region ${stored} (its buses' ARNs name it), not ${asked}: ` +
        `give --region ${stored} (and BUSBAR_REGION=${stored}), or leave them out`,
    );
  };
  try {
    return await f(store, region);
  } catch (e) {
    throw e instanceof AccountsError ? new AdminError(e.message) : e;
  } finally {
    await store.close();
  }
}

/** The options that name where a command ran (for a command to run next at the same place). */
function placeArgs(place: Place): string {
  if (place.endpoint !== undefined) return ` --endpoint ${place.endpoint}`;
  if (place.dataDir !== undefined) return ` --data-dir ${place.dataDir}`;
  return "";
}

/** `--account`: an account id, checked here so that both places refuse a malformed one alike. */
function accountOption(id: string): string {
  if (!ACCOUNT_ID.test(id)) throw new AdminError(`--account must be 12 digits, got "${id}"`);
  return id;
}

/**
 * Prints what a command made, with a secret shown only this once, and waits until it is written. A
 * failed write is reported naming what was made (`made`) and the way out (`wayOut`), since the secret
 * is lost.
 * @throws OutputError when standard output could not be written.
 */
async function printSecret(io: Output, value: unknown, made: string, wayOut: string): Promise<void> {
  printJson(io, value);
  try {
    await io.flushed?.();
  } catch (e) {
    throw new OutputError(
      `${made} was created, but its secret could not be written to standard output (${writeFailure(e)}) and is not shown again: ${wayOut}`,
    );
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** Milliseconds of the API's timestamps (epoch seconds). */
const msOf = (seconds: unknown): number => Number(seconds) * 1000;

/** `accounts create`: a new account with its default bus and a root key; prints the key once. */
export async function createAccount(io: Output, opts: Place & { id?: string; name?: string }): Promise<void> {
  const print = (made: { accountId: string; name: string; accessKeyId: string; secretAccessKey: string }) =>
    printSecret(
      io,
      made,
      `account ${made.accountId}, with root key ${made.accessKeyId},`,
      `delete the key (busbar keys delete ${made.accessKeyId}${placeArgs(opts)}) and give the account another (busbar keys create --account ${made.accountId}${placeArgs(opts)})`,
    );
  // Checked here, before either place: a server would refuse it too, in its own words.
  if (opts.id !== undefined && !ACCOUNT_ID.test(opts.id))
    throw new AdminError(`--id must be 12 digits, got "${opts.id}"`);
  const server = remoteFor(opts);
  if (server !== undefined) {
    const r = await callRemote(server, "CreateAccount", { AccountId: opts.id, Name: opts.name });
    // callRemote checked the reply's shape: these are strings.
    await print({
      accountId: r.AccountId as string,
      name: r.Name as string,
      accessKeyId: r.AccessKeyId as string,
      secretAccessKey: r.SecretAccessKey as string,
    });
    return;
  }
  const { account, key } = await withStore(opts, async (store, region) =>
    createAccountIn(store, await region(), { id: opts.id, name: opts.name }),
  );
  await print({
    accountId: account.id,
    name: account.name,
    accessKeyId: key.accessKeyId,
    secretAccessKey: key.secretAccessKey,
  });
}

/** `accounts list`. */
export async function listAccounts(io: Output, opts: Place): Promise<void> {
  const server = remoteFor(opts);
  if (server !== undefined) {
    const accounts = (await callRemoteAllPages(server, "ListAccounts", {}, "Accounts")) as Array<{
      AccountId: string;
      Name: string;
      CreatedAt: number;
    }>;
    printJson(
      io,
      accounts.map((a) => ({ accountId: a.AccountId, name: a.Name, createdAt: iso(msOf(a.CreatedAt)) })),
    );
    return;
  }
  await withStore(opts, async (store) => {
    const accounts = await allItems((options) => store.listAccounts(options));
    printJson(
      io,
      accounts.map((a) => ({ accountId: a.id, name: a.name, createdAt: iso(a.createdAt) })),
    );
  });
}

/** `keys create --account ID [--policy FILE]…`: prints the new key, its secret shown once. */
export async function createKey(
  io: Output,
  opts: Place & { account: string; policy?: string[] },
): Promise<void> {
  const policies = (opts.policy ?? []).map((file) => {
    try {
      return readInput(file, file === "-" ? "the policy on standard input" : `policy file ${file}`);
    } catch (e) {
      throw new AdminError((e as Error).message);
    }
  });
  const account = accountOption(opts.account);
  const printKey = (key: { accountId: string; accessKeyId: string; secretAccessKey: string }) =>
    printSecret(
      io,
      { ...key, policies: policies.length },
      `access key ${key.accessKeyId} of account ${key.accountId}`,
      `delete it (busbar keys delete ${key.accessKeyId}${placeArgs(opts)}) and create another`,
    );
  const server = remoteFor(opts);
  if (server !== undefined) {
    const r = await callRemote(server, "CreateAccessKey", { AccountId: account, Policies: policies });
    // callRemote checked the reply's shape: these are strings.
    await printKey({
      accountId: r.AccountId as string,
      accessKeyId: r.AccessKeyId as string,
      secretAccessKey: r.SecretAccessKey as string,
    });
    return;
  }
  const key = await withStore(opts, (store) => createAccessKey(store, account, policies));
  await printKey({
    accountId: key.accountId,
    accessKeyId: key.accessKeyId,
    secretAccessKey: key.secretAccessKey,
  });
}

/** What `keys list` prints of a key (never its secret). */
function describeKey(key: Omit<AccessKey, "secretAccessKey">) {
  return {
    accessKeyId: key.accessKeyId,
    accountId: key.accountId,
    root: key.root,
    policies: key.policies.map((p) => JSON.parse(p) as unknown),
    createdAt: iso(key.createdAt),
  };
}

/**
 * `keys list [--account ID]`: keys without their secrets; in a data directory every account's by
 * default, on a server the caller's account's.
 */
export async function listKeys(io: Output, opts: Place & { account?: string }): Promise<void> {
  const account = opts.account === undefined ? undefined : accountOption(opts.account);
  const server = remoteFor(opts);
  if (server !== undefined) {
    const keys = (await callRemoteAllPages(
      server,
      "ListAccessKeys",
      { AccountId: account },
      "AccessKeys",
    )) as Array<{
      AccessKeyId: string;
      AccountId: string;
      Root: boolean;
      Policies: string[];
      CreatedAt: number;
    }>;
    printJson(
      io,
      keys.map((k) =>
        describeKey({
          accessKeyId: k.AccessKeyId,
          accountId: k.AccountId,
          root: k.Root,
          policies: k.Policies,
          createdAt: msOf(k.CreatedAt),
        }),
      ),
    );
    return;
  }
  await withStore(opts, async (store) => {
    // As ListAccessKeys on a server: an account that does not exist is an error, not an empty list.
    if (account !== undefined && (await store.getAccount(account)) === undefined)
      throw new AdminError(`account ${account} does not exist`);
    const keys = await allItems((options) => store.listAccessKeys(account, options));
    printJson(io, keys.map(describeKey));
  });
}

/** `keys delete KEYID`. */
export async function deleteKey(io: Output, opts: Place & { accessKeyId: string }): Promise<void> {
  const server = remoteFor(opts);
  if (server !== undefined) await callRemote(server, "DeleteAccessKey", { AccessKeyId: opts.accessKeyId });
  else await withStore(opts, (store) => deleteAccessKey(store, opts.accessKeyId));
  printJson(io, { deleted: opts.accessKeyId });
}
