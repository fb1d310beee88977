/**
 * Secrets at rest: a {@link SecretBox} seals text with AES-256-GCM under the node's secrets key, so
 * that connection passwords, API keys and client secrets never reach the store in plain text.
 *
 * The key comes from `BUSBAR_SECRETS_KEY` (base64 of 32 bytes) when set, else from `secrets.key` in
 * the data directory, generated on first start with mode 0600 (as the root credentials file is).
 * Sealed text is `v1:<iv>:<tag>:<ciphertext>`, each part base64url: the version names the format
 * and the key, so that a later format can sit beside this one.
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf (GCM, 96-bit IVs)
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDataDir, type Connection } from "../store/index.js";

/** The key file in the data directory (mode 0600). */
export const SECRETS_KEY_FILE = "secrets.key";

/** The environment variable that gives the key (base64 of 32 bytes) instead of the key file. */
export const SECRETS_KEY_ENV = "BUSBAR_SECRETS_KEY";

/** Key length of AES-256, in bytes. */
export const SECRETS_KEY_BYTES = 32;

const FORMAT = "v1";
const ALGORITHM = "aes-256-gcm";
/** 96-bit IVs, random per seal (GCM's recommended length). */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Stable codes of {@link SecretBoxError}. */
export const SecretBoxErrorCode = {
  /** The key (environment or file) is not base64 of 32 bytes. */
  InvalidKey: "InvalidSecretsKey",
  /** The sealed text is not in a format this box reads. */
  Malformed: "MalformedSealedText",
  /** Authentication failed: the text was changed, or sealed under another key. */
  Tampered: "SealedTextRejected",
} as const;
export type SecretBoxErrorCode = (typeof SecretBoxErrorCode)[keyof typeof SecretBoxErrorCode];

/** A key that cannot be used, or sealed text that cannot be opened. Never carries the secret. */
export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";
  readonly retryable = false;

  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** Seals and opens text under one AES-256-GCM key. */
export class SecretBox {
  readonly #key: Buffer;

  /** @param key 32 bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== SECRETS_KEY_BYTES) {
      throw new SecretBoxError(
        SecretBoxErrorCode.InvalidKey,
        `The secrets key must be ${SECRETS_KEY_BYTES} bytes, not ${key.length}.`,
      );
    }
    this.#key = Buffer.from(key);
  }

  /** Encrypts `plain` with a fresh random IV; the result is `v1:<iv>:<tag>:<ciphertext>` (base64url). */
  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT, iv, tag, ciphertext]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(":");
  }

  /**
   * Decrypts text {@link seal} made.
   * @throws {SecretBoxError} when the text is malformed, was changed, or was sealed under another key.
   */
  open(sealed: string): string {
    const parts = sealed.split(":");
    const [format, iv, tag, ciphertext] = parts;
    if (
      parts.length !== 4 ||
      format !== FORMAT ||
      iv === undefined ||
      tag === undefined ||
      ciphertext === undefined ||
      ![iv, tag, ciphertext].every((p) => BASE64URL.test(p))
    ) {
      throw new SecretBoxError(SecretBoxErrorCode.Malformed, "The sealed text is not in the v1 format.");
    }
    const ivBytes = Buffer.from(iv, "base64url");
    const tagBytes = Buffer.from(tag, "base64url");
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) {
      throw new SecretBoxError(SecretBoxErrorCode.Malformed, "The sealed text has a bad IV or tag length.");
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, this.#key, ivBytes);
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    } catch (e) {
      throw new SecretBoxError(
        SecretBoxErrorCode.Tampered,
        "The sealed text was changed, or was sealed under another key.",
        { cause: e },
      );
    }
  }
}

/** Decodes a base64 key of 32 bytes, naming where it came from when it is not one. */
function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) || key.length !== SECRETS_KEY_BYTES) {
    throw new SecretBoxError(
      SecretBoxErrorCode.InvalidKey,
      `${source} must hold ${SECRETS_KEY_BYTES} bytes in base64.`,
    );
  }
  return key;
}

/** Reads the key file, or creates it (mode 0600) when there is none; two racing starts agree on one. */
function keyFromFile(dataDir: string): Buffer {
  makeDataDir(dataDir);
  const file = join(dataDir, SECRETS_KEY_FILE);
  try {
    writeFileSync(file, randomBytes(SECRETS_KEY_BYTES).toString("base64") + "\n", {
      mode: 0o600,
      flag: "wx",
    });
    chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new Error(`cannot create ${file}: ${(e as Error).message}`, { cause: e });
    }
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return decodeKey(text, file);
}

/**
 * The node's secret box: keyed by `BUSBAR_SECRETS_KEY` when set, else by `secrets.key` in `dataDir`
 * (created on first start).
 * @throws {SecretBoxError} when the key is not base64 of 32 bytes.
 */
export function openSecretBox(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
  const fromEnv = env[SECRETS_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return new SecretBox(decodeKey(fromEnv, SECRETS_KEY_ENV));
  return new SecretBox(keyFromFile(dataDir));
}

/**
 * The AuthParameters of a connection as CreateConnection and UpdateConnection left them, secrets
 * included (Password, ApiKeyValue, ClientSecret, and the values of parameters with IsValueSecret),
 * in the AWS shape: `BasicAuthParameters`, `ApiKeyAuthParameters` or `OAuthParameters`, and
 * `InvocationHttpParameters`. Every HTTP parameter carries an explicit `IsValueSecret`. A
 * deauthorized connection has no secrets left: its secret parameters have no `Value`.
 * @throws {SecretBoxError} when the stored text cannot be opened (another key, or tampered).
 */
export function readAuthParameters(box: SecretBox, connection: Connection): Record<string, unknown> {
  const parsed: unknown = JSON.parse(box.open(connection.authParameters));
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new SecretBoxError(
      SecretBoxErrorCode.Malformed,
      "The connection's AuthParameters are not an object.",
    );
  }
  return parsed as Record<string, unknown>;
}
