/**
 * The signing secrets of webhook targets (Standard Webhooks): each HTTP target of a rule has one, or
 * several while a rotation is under way, stored encrypted. Deliveries sign with every secret that has
 * not expired, so receivers can switch to the new secret at their own pace.
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme
 */
import { randomBytes } from "node:crypto";
import type { Store } from "../store/index.js";

/** @default 86400 — how long the previous secret keeps signing after a rotation. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;

/** Encrypts secrets at rest (see secrets.ts). */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** One signing secret of a target. */
export interface SigningSecret {
  /** `whsec_` and 32 random bytes in base64, as Standard Webhooks writes secrets. */
  readonly secret: string;
  readonly createdAt: number;
  /** Absent while it is the current secret; set when a rotation retires it. */
  readonly expiresAt?: number;
}

/** A new random secret in the Standard Webhooks form. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * Whether `secret` is a valid Standard Webhooks secret (`whsec_` and base64 of 24 to 64 bytes), in
 * padded base64 as the secrets Busbar makes are: Node decodes unpadded or malformed base64 too, but the
 * reference libraries of other languages (Go's standard encoding, Python's b64decode) refuse it, and
 * receivers using them could not verify.
 */
export function isSigningSecret(secret: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+)(={0,2})$/.exec(secret);
  if (m === null) return false;
  if (((m[1] as string).length + (m[2] as string).length) % 4 !== 0) return false;
  const bytes = Buffer.from(m[1] as string, "base64").length;
  return bytes >= 24 && bytes <= 64;
}

/**
 * Most secrets a target signs with at once: the current one and those still retiring. Each adds a
 * signature of ~50 bytes to every request's `webhook-signature` header; rotations without a bound (a
 * job rotating every few minutes, with a day of grace) grew it past the 8 to 16 KiB that receivers'
 * HTTP servers allow a header, and every delivery failed.
 */
export const MAX_SIGNING_SECRETS = 10;

/** A rotation that would leave a target more than {@link MAX_SIGNING_SECRETS} secrets in use. */
export class TooManySigningSecretsError extends Error {
  override readonly name = "TooManySigningSecretsError";

  constructor(readonly inUse: number) {
    super(
      `it signs with ${inUse} secrets (the current one and ${inUse - 1} retiring), and ${MAX_SIGNING_SECRETS} ` +
        "at most: rotate once one of them has expired, or retire the previous ones sooner " +
        "(PreviousSecretExpiresInSeconds; 0 retires them at once)",
    );
  }
}

const keyOf = (ruleArn: string, targetId: string): string => `webhook-signing:${ruleArn}:${targetId}`;

/** The signing secrets of every webhook target, cached in memory. */
export class SigningSecrets {
  readonly #cache = new Map<string, readonly SigningSecret[]>();
  readonly #loading = new Map<string, Promise<readonly SigningSecret[]>>();
  /** What {@link active} gave for a cached list of secrets, until the first of them expires. */
  readonly #active = new WeakMap<readonly SigningSecret[], { values: readonly string[]; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The target's secrets, current first, without expired ones, at most {@link MAX_SIGNING_SECRETS}
   * (the newest: earlier builds kept more, which every request would carry); creates the first secret
   * if there is none.
   */
  async list(ruleArn: string, targetId: string): Promise<readonly SigningSecret[]> {
    const key = keyOf(ruleArn, targetId);
    let secrets = this.#cache.get(key);
    if (secrets === undefined) {
      // One load per key at a time, so that two first deliveries never create two secrets.
      let loading = this.#loading.get(key);
      if (loading === undefined) {
        loading = this.load(key).finally(() => this.#loading.delete(key));
        this.#loading.set(key, loading);
      }
      secrets = await loading;
    }
    const now = this.now();
    return secrets
      .filter((s) => s.expiresAt === undefined || s.expiresAt > now)
      .slice(0, MAX_SIGNING_SECRETS);
  }

  private async load(key: string): Promise<readonly SigningSecret[]> {
    const sealed = await this.store.getSecret(key);
    let secrets = sealed === undefined ? [] : (JSON.parse(this.sealer.open(sealed)) as SigningSecret[]);
    if (secrets.length === 0) {
      secrets = [{ secret: newSigningSecret(), createdAt: this.now() }];
      await this.save(key, secrets);
    }
    this.#cache.set(key, secrets);
    return secrets;
  }

  /**
   * What {@link active} gives, when it is kept (and still valid): without a promise, so that a
   * delivery signing with known secrets does not wait a turn of the microtask queue.
   */
  activeNow(ruleArn: string, targetId: string): readonly string[] | undefined {
    const cached = this.#cache.get(keyOf(ruleArn, targetId));
    const kept = cached === undefined ? undefined : this.#active.get(cached);
    return kept !== undefined && this.now() < kept.until ? kept.values : undefined;
  }

  /**
   * The secret values deliveries sign with (see {@link list}). Asked once per delivery: the values
   * are kept per target until the first of them expires or the secrets change.
   */
  async active(ruleArn: string, targetId: string): Promise<readonly string[]> {
    const kept = this.activeNow(ruleArn, targetId);
    if (kept !== undefined) return kept;
    const key = keyOf(ruleArn, targetId);
    const secrets = await this.list(ruleArn, targetId);
    const values = secrets.map((s) => s.secret);
    const until = Math.min(...secrets.map((s) => s.expiresAt ?? Infinity));
    // Kept with the list it came from: a rotation or a removal replaces that list, and this with it.
    const source = this.#cache.get(key);
    if (source !== undefined) this.#active.set(source, { values, until });
    return values;
  }

  /**
   * Makes `secret` (or a new random one) the current secret; the secrets in use until now keep
   * signing for `graceSeconds` more (0 retires them at once). Returns the secrets after the rotation.
   */
  async rotate(
    ruleArn: string,
    targetId: string,
    options: { secret?: string; graceSeconds?: number } = {},
  ): Promise<readonly SigningSecret[]> {
    const now = this.now();
    const until = now + (options.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS) * 1000;
    const previous = (await this.list(ruleArn, targetId)).map((s) => ({
      ...s,
      expiresAt: Math.min(s.expiresAt ?? until, until),
    }));
    const secret = options.secret ?? newSigningSecret();
    // Rotating to a secret the target already has keeps it once, as the current one (not twice, which
    // would sign every delivery twice with it).
    const retiring = previous.filter((s) => s.expiresAt > now && s.secret !== secret);
    if (retiring.length >= MAX_SIGNING_SECRETS) throw new TooManySigningSecretsError(retiring.length);
    const secrets = [{ secret, createdAt: now }, ...retiring];
    const key = keyOf(ruleArn, targetId);
    await this.save(key, secrets);
    this.#cache.set(key, secrets);
    return secrets;
  }

  /** Forgets a target's secrets (when the target or its rule is removed). */
  async remove(ruleArn: string, targetId: string): Promise<void> {
    const key = keyOf(ruleArn, targetId);
    this.#cache.delete(key);
    await this.store.deleteSecret(key);
  }

  private async save(key: string, secrets: readonly SigningSecret[]): Promise<void> {
    await this.store.putSecret(key, this.sealer.seal(JSON.stringify(secrets)));
  }
}
