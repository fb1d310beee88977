/**
 * First-start and every-start preparation: the default account, its `default` bus and root key, the
 * root credentials file, and the rule registry rebuilt from the store.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDefaultBus, generateCredentials, type Credentials } from "../accounts/index.js";
import type { RuleRegistry } from "../buses/index.js";
import type { BusbarConfig } from "../config/index.js";
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
import { allItems, makeDataDir, type Store } from "../store/index.js";

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
      `${keyFile} is missing, and this data directory holds secrets sealed with it: restore the file (or set ${SECRETS_KEY_ENV} to its key); to start over without them, set ${SECRETS_KEY_ENV} to a new key`,
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

/** Root credentials file in the data directory (mode 0600). */
export const ROOT_CREDENTIALS_FILE = "root-credentials.json";

/** Access key id and secret of a root key. */
export type RootCredentials = Credentials;

/**
 * The root credentials: from the environment when set; otherwise read from the data directory, or
 * generated, saved with mode 0600, and reported through `announce` exactly once.
 */
export function rootCredentials(
  config: BusbarConfig,
  announce: (c: RootCredentials, file: string) => void,
): RootCredentials {
  if (config.rootAccessKeyId !== undefined && config.rootSecretAccessKey !== undefined) {
    return { accessKeyId: config.rootAccessKeyId, secretAccessKey: config.rootSecretAccessKey };
  }
  makeDataDir(config.dataDir);
  const file = join(config.dataDir, ROOT_CREDENTIALS_FILE);
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Partial<RootCredentials>;
    if (typeof saved.accessKeyId === "string" && typeof saved.secretAccessKey === "string") {
      return { accessKeyId: saved.accessKeyId, secretAccessKey: saved.secretAccessKey };
    }
    throw new Error(`${file} is not a valid credentials file`);
  }
  const created = generateCredentials();
  writeFileSync(file, JSON.stringify(created, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  announce(created, file);
  return created;
}

/** Ensures the default account exists with its `default` bus and root key. */
export async function ensureDefaults(
  store: Store,
  config: BusbarConfig,
  root: RootCredentials,
): Promise<void> {
  const now = Date.now();
  await store.putAccount({ id: config.accountId, name: "default", createdAt: now });
  await ensureDefaultBus(store, config.region, config.accountId);
  const existing = await store.getAccessKey(root.accessKeyId);
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
}

/** What {@link loadRegistry} reports: rules it skipped, targets whose sealed secrets it could not open. */
export interface RegistryLoadReport {
  badRule(ruleArn: string, error: unknown): void;
  unopenableTarget(ruleArn: string, targetId: string, error: unknown): void;
}

/**
 * Builds the rule registry from the store. Rules whose pattern no longer compiles are reported and
 * skipped. Broker targets stored with their secrets in plain text (before targets were sealed) are
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
      continue;
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
