/**
 * `busbar accounts create|list` and `busbar keys create|list|delete`: manage accounts and access keys
 * in a data directory. The store is SQLite in WAL mode, so these commands work beside a running
 * server on the same data directory, which sees new keys within seconds and new accounts' buses on
 * first use.
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { parsePolicy } from "../auth/index.js";
import { loadConfig } from "../config/index.js";
import { ensureDefaultBus, generateCredentials } from "../server/index.js";
import { openSqliteStore, type AccessKey, type Store } from "../store/index.js";
import type { Output } from "./test-pattern.js";

/** A usage problem the command reports with exit code 2. */
export class AdminError extends Error {
  override readonly name = "AdminError";
}

async function withStore<T>(
  dataDir: string | undefined,
  f: (store: Store, region: string) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ dataDir });
  const store = openSqliteStore({ dataDir: config.dataDir });
  try {
    return await f(store, config.region);
  } finally {
    await store.close();
  }
}

const print = (io: Output, value: unknown): void => io.out(JSON.stringify(value, null, 2));

/** `accounts create`: a new account with its default bus and a root key; prints the key once. */
export async function createAccount(
  io: Output,
  opts: { dataDir?: string; id?: string; name?: string },
): Promise<void> {
  const id = opts.id ?? String(randomInt(100_000_000_000, 1_000_000_000_000)).padStart(12, "0");
  if (!/^\d{12}$/.test(id)) throw new AdminError(`account id must be 12 digits, got "${id}"`);
  await withStore(opts.dataDir, async (store, region) => {
    if (!(await store.putAccount({ id, name: opts.name ?? id, createdAt: Date.now() }))) {
      throw new AdminError(`account ${id} already exists`);
    }
    await ensureDefaultBus(store, region, id);
    const key = generateCredentials();
    await store.putAccessKey({ ...key, accountId: id, root: true, policies: [], createdAt: Date.now() });
    print(io, {
      accountId: id,
      name: opts.name ?? id,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
    });
  });
}

/** `accounts list`. */
export async function listAccounts(io: Output, opts: { dataDir?: string }): Promise<void> {
  await withStore(opts.dataDir, async (store) => {
    const accounts = await store.listAccounts();
    print(
      io,
      accounts.map((a) => ({
        accountId: a.id,
        name: a.name,
        createdAt: new Date(a.createdAt).toISOString(),
      })),
    );
  });
}

/** `keys create --account ID [--policy FILE]…`: prints the new key, its secret shown once. */
export async function createKey(
  io: Output,
  opts: { dataDir?: string; account: string; policy?: string[] },
): Promise<void> {
  const policies = (opts.policy ?? []).map((file) => {
    const text = readFileSync(file, "utf8");
    parsePolicy(text); // rejects a malformed policy before anything is stored
    return text;
  });
  await withStore(opts.dataDir, async (store) => {
    if ((await store.getAccount(opts.account)) === undefined)
      throw new AdminError(`account ${opts.account} does not exist`);
    const key = generateCredentials();
    await store.putAccessKey({
      ...key,
      accountId: opts.account,
      root: false,
      policies,
      createdAt: Date.now(),
    });
    print(io, {
      accountId: opts.account,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      policies: policies.length,
    });
  });
}

/** `keys list [--account ID]`: keys without their secrets. */
export async function listKeys(io: Output, opts: { dataDir?: string; account?: string }): Promise<void> {
  await withStore(opts.dataDir, async (store) => {
    const keys = await store.listAccessKeys(opts.account);
    print(
      io,
      keys.map((k: AccessKey) => ({
        accessKeyId: k.accessKeyId,
        accountId: k.accountId,
        root: k.root,
        policies: k.policies.map((p) => JSON.parse(p) as unknown),
        createdAt: new Date(k.createdAt).toISOString(),
      })),
    );
  });
}

/** `keys delete KEYID`. */
export async function deleteKey(io: Output, opts: { dataDir?: string; accessKeyId: string }): Promise<void> {
  await withStore(opts.dataDir, async (store) => {
    if (!(await store.deleteAccessKey(opts.accessKeyId)))
      throw new AdminError(`access key ${opts.accessKeyId} does not exist`);
    print(io, { deleted: opts.accessKeyId });
  });
}
