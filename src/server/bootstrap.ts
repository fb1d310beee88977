/**
 * First-start and every-start preparation: the default account, its `default` bus and root key, the
 * root credentials file, and the rule registry rebuilt from the store.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDefaultBus, generateCredentials, type Credentials } from "../accounts/index.js";
import type { RuleRegistry } from "../buses/index.js";
import type { BusbarConfig } from "../config/index.js";
import { createLogger } from "../log/index.js";
import {
  SECRETS_KEY_ENV,
  SECRETS_KEY_FILE,
  holdsPlainSecret,
  openSecretBox,
  openTarget,
  sealTarget,
  type SecretBox,
  type Sealer,
} from "../delivery/index.js";
import { DEFAULT_SQLITE_FILE_NAME, allItems, makeDataDir, type Store } from "../store/index.js";

/** The store's secret that tells whether the secrets key is the one the data directory's secrets were sealed with. */
export const SECRETS_KEY_CHECK = "busbar/secrets-key-check";

/**
 * The node's secret box (openSecretBox), checked against the data directory: the first start seals a
 * known text in the store with it. A later start whose key file is missing would make a new key, and
 * every sealed secret (connections, signing secrets, broker credentials) would no longer open: events
 * would be accepted and then dropped at delivery. It is refused instead, naming the ways out. A key
 * that is there but is not the one (a replaced file, another BUSBAR_SECRETS_KEY) starts, with an
 * error in the log, as documented (the connections are deleted and made again, or the key restored).
 * @throws {Error} when the key file is missing from a data directory whose secrets it sealed.
 */
export async function checkedSecretBox(
  store: Store,
  dataDir: string,
  log: { error(context: object, message: string): void },
  env: NodeJS.ProcessEnv = process.env,
): Promise<SecretBox> {
  const check = await store.getSecret(SECRETS_KEY_CHECK);
  const keyFile = join(dataDir, SECRETS_KEY_FILE);
  const fromEnv = env[SECRETS_KEY_ENV] !== undefined && env[SECRETS_KEY_ENV] !== "";
  if (check !== undefined && !fromEnv && !existsSync(keyFile)) {
    throw new Error(
      `this data directory holds sealed secrets, and their key is neither in ${keyFile} (missing) nor in ${SECRETS_KEY_ENV} (unset): restore the file, or set ${SECRETS_KEY_ENV} to the key they were sealed with; to start over without them, set ${SECRETS_KEY_ENV} to a new key`,
    );
  }
  const box = openSecretBox(dataDir, env);
  if (check === undefined) {
    await store.putSecret(SECRETS_KEY_CHECK, box.seal(SECRETS_KEY_CHECK));
    return box;
  }
  try {
    box.open(check);
  } catch {
    log.error(
      { keySource: fromEnv ? SECRETS_KEY_ENV : keyFile },
      "the secrets key is not the one this data directory's secrets were sealed with: connections, signing secrets and broker credentials will not open",
    );
  }
  return box;
}

/** The store's secret that keys receipt handles (base64 of 32 random bytes, made at the first start). */
export const RECEIPT_KEY = "busbar/receipt-key";

/**
 * The key receipt handles are made with: the data directory's own, made at its first start, so that
 * changing the root credentials does not invalidate the handles of messages in flight. Handles made
 * before it existed were keyed by the root secret, which the node still reads them with.
 */
export async function receiptKey(store: Store): Promise<string> {
  const stored = await store.getSecret(RECEIPT_KEY);
  if (stored !== undefined) return stored;
  const made = randomBytes(32).toString("base64");
  await store.putSecret(RECEIPT_KEY, made);
  return made;
}

/**
 * The file a start writes beside the database it made (or found), so that a later start can tell a
 * used directory whose database was lost from a new one. Not the secrets key: an operator may place
 * that before the first start (a mounted secret).
 */
export const INSTALLATION_FILE = "installation.json";

/**
 * Writes {@link INSTALLATION_FILE} unless it is there (an exclusive create, as the secrets key's): at
 * every start once the store is open, so that directories made before the file existed get it too.
 */
export function markInstallation(dataDir: string, now: Date = new Date()): void {
  const file = join(dataDir, INSTALLATION_FILE);
  const text = JSON.stringify(
    {
      writtenAt: now.toISOString(),
      about: `written by Busbar beside ${DEFAULT_SQLITE_FILE_NAME}; while it is here, a start refuses this directory without its database`,
    },
    null,
    2,
  );
  try {
    writeFileSync(file, `${text}\n`, { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
}

/**
 * Refuses a data directory whose database is missing or empty while files only a start that made the
 * database writes are there ({@link INSTALLATION_FILE}, saved root credentials): its buses, rules,
 * queues and keys are gone (a deleted or truncated file, a restore that left it out), and starting
 * would make an empty installation in their place without a word.
 * @throws {Error} naming the files and the ways out.
 */
export function refuseLostDatabase(dataDir: string, databaseFile: string): void {
  let size: number;
  try {
    size = statSync(databaseFile).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return; // the store's opening names the problem
    size = -1;
  }
  if (size > 0) return;
  const left = [INSTALLATION_FILE, ROOT_CREDENTIALS_FILE].filter((f) => existsSync(join(dataDir, f)));
  if (left.length === 0) return;
  throw new Error(
    `${databaseFile} is ${size < 0 ? "missing" : "empty"}, but ${dataDir} holds ${left.join(" and ")}, which a start that made its database wrote: ` +
      `its buses, rules, queues and keys are not there. Restore ${DEFAULT_SQLITE_FILE_NAME} (with its -wal file) from a backup, ` +
      `or, to start afresh in this directory, remove ${left.join(" and ")}`,
  );
}

/** Root credentials file in the data directory (mode 0600). */
export const ROOT_CREDENTIALS_FILE = "root-credentials.json";

/** Access key id and secret of a root key. */
export type RootCredentials = Credentials;

/**
 * The root credentials given to the node: from the environment when set, else those saved in the
 * data directory; `undefined` when there are none yet ({@link newRootCredentials} makes them). Reads
 * only, so that a start refused later (another program's database, a newer Busbar's) has made and
 * printed nothing.
 * @throws {Error} naming the file when the saved credentials file is not one.
 */
export function givenRootCredentials(config: BusbarConfig): RootCredentials | undefined {
  if (config.rootAccessKeyId !== undefined && config.rootSecretAccessKey !== undefined) {
    return { accessKeyId: config.rootAccessKeyId, secretAccessKey: config.rootSecretAccessKey };
  }
  const file = join(config.dataDir, ROOT_CREDENTIALS_FILE);
  if (!existsSync(file)) return undefined;
  let saved: Partial<RootCredentials> | null;
  try {
    saved = JSON.parse(readFileSync(file, "utf8")) as Partial<RootCredentials> | null;
  } catch (e) {
    throw new Error(`${file} is not a valid credentials file: ${(e as Error).message}`, { cause: e });
  }
  if (typeof saved?.accessKeyId === "string" && typeof saved.secretAccessKey === "string") {
    return { accessKeyId: saved.accessKeyId, secretAccessKey: saved.secretAccessKey };
  }
  throw new Error(
    `${file} is not a valid credentials file: it must be a JSON object with accessKeyId and secretAccessKey`,
  );
}

/**
 * New root credentials, saved with mode 0600 in the data directory and reported through `announce`
 * exactly once. Called once the store has opened the data directory's database, so that credentials
 * are never shown for a start that is then refused.
 */
export function newRootCredentials(
  config: BusbarConfig,
  announce: (c: RootCredentials, file: string) => void,
): RootCredentials {
  makeDataDir(config.dataDir);
  const file = join(config.dataDir, ROOT_CREDENTIALS_FILE);
  const created = generateCredentials();
  writeFileSync(file, JSON.stringify(created, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  announce(created, file);
  return created;
}

/**
 * The store's record that a root key was provisioned from the credentials file or BUSBAR_ROOT_*
 * (one per key id; the value is when). A provisioned key that is gone from the store was deleted
 * (`busbar keys delete`), and is not made again.
 */
export const ROOT_KEY_PROVISIONED_PREFIX = "busbar/root-key-provisioned/";

/** Where {@link ensureDefaults} reports a root key it does not restore. */
export interface BootstrapLog {
  warn(context: object, message: string): void;
}

/**
 * Ensures the default account exists with its `default` bus and the root key of `root`. A root key
 * that was provisioned before and then deleted stays deleted: it is reported through `log` and not
 * restored. New credentials (another key id in the file or the environment) are provisioned, so
 * that root credentials can be replaced.
 */
export async function ensureDefaults(
  store: Store,
  config: BusbarConfig,
  root: RootCredentials,
  log: BootstrapLog = lazyLog(),
): Promise<void> {
  const now = Date.now();
  await store.putAccount({ id: config.accountId, name: "default", createdAt: now });
  await ensureDefaultBus(store, config.region, config.accountId);
  const provisioned = `${ROOT_KEY_PROVISIONED_PREFIX}${root.accessKeyId}`;
  const existing = await store.getAccessKey(root.accessKeyId);
  if (existing === undefined && (await store.getSecret(provisioned)) !== undefined) {
    log.warn(
      {
        accessKeyId: root.accessKeyId,
        source: config.rootAccessKeyId !== undefined ? "BUSBAR_ROOT_ACCESS_KEY_ID" : ROOT_CREDENTIALS_FILE,
      },
      "the root key of the root credentials was deleted, and is not restored: to have a root key again, set other credentials in BUSBAR_ROOT_ACCESS_KEY_ID and BUSBAR_ROOT_SECRET_ACCESS_KEY, or remove root-credentials.json to have new ones generated",
    );
    return;
  }
  if (existing === undefined || existing.secretAccessKey !== root.secretAccessKey || !existing.root) {
    await store.putAccessKey({
      accessKeyId: root.accessKeyId,
      secretAccessKey: root.secretAccessKey,
      accountId: config.accountId,
      root: true,
      policies: [],
      createdAt: existing?.createdAt ?? now,
    });
  }
  // After the key: a start that dies between the two makes the key again, never takes it for deleted.
  // Data directories from before this record get it at their next start, while their key is there.
  if ((await store.getSecret(provisioned)) === undefined)
    await store.putSecret(provisioned, new Date(now).toISOString());
}

/** A logger made on first use, for callers that pass none. */
function lazyLog(): BootstrapLog {
  let log: BootstrapLog | undefined;
  return { warn: (context, message) => (log ??= createLogger()).warn(context, message) };
}

/** What {@link loadRegistry} reports: rules it skipped, targets whose sealed secrets it could not open. */
export interface RegistryLoadReport {
  badRule(ruleArn: string, error: unknown): void;
  unopenableTarget(ruleArn: string, targetId: string, error: unknown): void;
}

/**
 * Builds the rule registry from the store. A rule whose pattern no longer compiles (a newer limit
 * refuses it) is reported and kept without its pattern: it matches no new event, while its targets,
 * kept too, still get the deliveries pending from before (skipped, its deliveries were dropped as
 * of a deleted rule), and it can be mended with PutRule or deleted as any other. Broker targets stored with their secrets in plain text (before targets were sealed) are
 * stored again, sealed.
 */
export async function loadRegistry(
  store: Store,
  registry: RuleRegistry,
  sealer: Sealer,
  report: RegistryLoadReport,
): Promise<void> {
  for (const account of await allItems((options) => store.listAccounts(options))) {
    for (const bus of await allItems((options) => store.listBuses(account.id, options))) registry.setBus(bus);
  }
  for (const rule of await store.listAllRules()) {
    try {
      registry.setRule(rule);
    } catch (e) {
      report.badRule(rule.arn, e);
      registry.setRule(rule, false);
    }
    const stored = await store.listTargets(rule.accountId, rule.busName, rule.name);
    const plain = stored.filter(holdsPlainSecret);
    if (plain.length > 0) {
      await store.putTargets(
        rule.accountId,
        rule.busName,
        rule.name,
        plain.map((t) => sealTarget(sealer, t)),
      );
    }
    const targets = stored.map((t) =>
      openTarget(sealer, t, (e) => report.unopenableTarget(rule.arn, t.id, e)),
    );
    registry.setTargets(rule.accountId, rule.busName, rule.name, targets);
  }
}
