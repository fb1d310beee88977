/**
 * `busbar accounts create|list` and `busbar keys create|list|delete`: manage accounts and access keys,
 * either in a data directory (`--data-dir`; the store is SQLite in WAL mode, so this works beside a
 * running server on the same directory, which sees new keys within seconds) or on a running server
 * (`--endpoint URL`, through Busbar's own API operations, signed with the credentials of
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Both print the same JSON.
 */
import { readFileSync } from "node:fs";
import {
  AccountsError,
  createAccessKey,
  createAccount as createAccountIn,
  deleteAccessKey,
} from "../accounts/index.js";
import { loadConfig } from "../config/index.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_SQLITE_FILE_NAME,
  allItems,
  openSqliteStore,
  type AccessKey,
  type Store,
} from "../store/index.js";
import { AdminError, callRemote, callRemoteAllPages, printJson, remoteFor } from "./remote.js";
import type { Output } from "./test-pattern.js";

export { AdminError } from "./remote.js";

/** Where a command works: `--data-dir` (or its default), or `--endpoint` (or BUSBAR_ENDPOINT). */
export interface Place {
  readonly dataDir?: string;
  readonly endpoint?: string;
}

async function withStore<T>(
  dataDir: string | undefined,
  f: (store: Store, region: string) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ dataDir });
  // A typo in the path would otherwise make a new, empty database there that no server reads.
  if (!existsSync(join(config.dataDir, DEFAULT_SQLITE_FILE_NAME))) {
    throw new AdminError(
      `${config.dataDir} is not a Busbar data directory (it has no ${DEFAULT_SQLITE_FILE_NAME}): check --data-dir ` +
        "(or BUSBAR_DATA_DIR), run `busbar serve` on it once first, or use --endpoint with a running server",
    );
  }
  const store = openSqliteStore({ dataDir: config.dataDir });
  try {
    return await f(store, config.region);
  } catch (e) {
    throw e instanceof AccountsError ? new AdminError(e.message) : e;
  } finally {
    await store.close();
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** Milliseconds of the API's timestamps (epoch seconds). */
const msOf = (seconds: unknown): number => Number(seconds) * 1000;

/** `accounts create`: a new account with its default bus and a root key; prints the key once. */
export async function createAccount(io: Output, opts: Place & { id?: string; name?: string }): Promise<void> {
  const server = remoteFor(opts);
  if (server !== undefined) {
    const r = await callRemote(server, "CreateAccount", { AccountId: opts.id, Name: opts.name });
    printJson(io, {
      accountId: r.AccountId,
      name: r.Name,
      accessKeyId: r.AccessKeyId,
      secretAccessKey: r.SecretAccessKey,
    });
    return;
  }
  await withStore(opts.dataDir, async (store, region) => {
    const { account, key } = await createAccountIn(store, region, { id: opts.id, name: opts.name });
    printJson(io, {
      accountId: account.id,
      name: account.name,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
    });
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
  await withStore(opts.dataDir, async (store) => {
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
      return readFileSync(file, "utf8");
    } catch (e) {
      throw new AdminError(`cannot read policy file ${file}: ${(e as Error).message}`);
    }
  });
  const printKey = (key: { accountId: unknown; accessKeyId: unknown; secretAccessKey: unknown }) =>
    printJson(io, { ...key, policies: policies.length });
  const server = remoteFor(opts);
  if (server !== undefined) {
    const r = await callRemote(server, "CreateAccessKey", { AccountId: opts.account, Policies: policies });
    printKey({ accountId: r.AccountId, accessKeyId: r.AccessKeyId, secretAccessKey: r.SecretAccessKey });
    return;
  }
  await withStore(opts.dataDir, async (store) => {
    const key = await createAccessKey(store, opts.account, policies);
    printKey({
      accountId: key.accountId,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
    });
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
  const server = remoteFor(opts);
  if (server !== undefined) {
    const keys = (await callRemoteAllPages(
      server,
      "ListAccessKeys",
      { AccountId: opts.account },
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
  await withStore(opts.dataDir, async (store) => {
    const keys = await allItems((options) => store.listAccessKeys(opts.account, options));
    printJson(io, keys.map(describeKey));
  });
}

/** `keys delete KEYID`. */
export async function deleteKey(io: Output, opts: Place & { accessKeyId: string }): Promise<void> {
  const server = remoteFor(opts);
  if (server !== undefined) await callRemote(server, "DeleteAccessKey", { AccessKeyId: opts.accessKeyId });
  else await withStore(opts.dataDir, (store) => deleteAccessKey(store, opts.accessKeyId));
  printJson(io, { deleted: opts.accessKeyId });
}
