import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection } from "../store/index.js";
import {
  SECRETS_KEY_ENV,
  SECRETS_KEY_FILE,
  SecretBox,
  SecretBoxError,
  SecretBoxErrorCode,
  openSecretBox,
  readAuthParameters,
} from "./secrets.js";

function withDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "busbar-secrets-"));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rejectsWith(code: SecretBoxErrorCode, run: () => unknown): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof SecretBoxError, `expected a SecretBoxError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** Flips one character of a base64url part, keeping it base64url. */
function flip(part: string, at: number): string {
  const c = part[at] === "A" ? "B" : "A";
  return part.slice(0, at) + c + part.slice(at + 1);
}

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it("opens what it sealed, Unicode and empty text included", () => {
    for (const plain of ["hunter2", "", "pässwörd ✓ 🔑", "x".repeat(10_000)]) {
      assert.equal(box.open(box.seal(plain)), plain);
    }
  });

  it("writes the versioned format with a fresh IV each time", () => {
    const a = box.seal("same");
    const b = box.seal("same");
    assert.match(a, /^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]*$/);
    assert.notEqual(a, b);
    assert.ok(!a.includes("same"));
  });

  it("rejects a changed ciphertext, tag or IV", () => {
    const [v, iv, tag, ct] = box.seal("a secret value").split(":") as [string, string, string, string];
    rejectsWith(SecretBoxErrorCode.Tampered, () => box.open([v, iv, tag, flip(ct, 3)].join(":")));
    rejectsWith(SecretBoxErrorCode.Tampered, () => box.open([v, iv, flip(tag, 0), ct].join(":")));
    rejectsWith(SecretBoxErrorCode.Tampered, () => box.open([v, flip(iv, 0), tag, ct].join(":")));
  });

  it("rejects text sealed under another key", () => {
    const other = new SecretBox(randomBytes(32));
    rejectsWith(SecretBoxErrorCode.Tampered, () => box.open(other.seal("a secret value")));
  });

  it("rejects text that is not in the v1 format", () => {
    for (const bad of ["", "plain text", "v2:a:b:c", "v1:a:b", "v1:!!:b:c", "v1:AAAA:AAAA:AAAA"]) {
      rejectsWith(SecretBoxErrorCode.Malformed, () => box.open(bad));
    }
  });

  it("rejects a key that is not 32 bytes", () => {
    rejectsWith(SecretBoxErrorCode.InvalidKey, () => new SecretBox(randomBytes(16)));
  });
});

describe("openSecretBox", () => {
  it("creates secrets.key with mode 0600 on first start", () => {
    withDir((dir) => {
      openSecretBox(dir, {});
      const file = join(dir, SECRETS_KEY_FILE);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(Buffer.from(readFileSync(file, "utf8").trim(), "base64").length, 32);
    });
  });

  it("reuses the key file on the next start", () => {
    withDir((dir) => {
      const sealed = openSecretBox(dir, {}).seal("kept across restarts");
      assert.equal(openSecretBox(dir, {}).open(sealed), "kept across restarts");
    });
  });

  it("creates the data directory when it does not exist", () => {
    withDir((dir) => {
      const nested = join(dir, "a", "b");
      openSecretBox(nested, {});
      assert.equal(statSync(join(nested, SECRETS_KEY_FILE)).mode & 0o777, 0o600);
    });
  });

  it("takes the key from BUSBAR_SECRETS_KEY, and writes no key file then", () => {
    withDir((dir) => {
      const key = randomBytes(32);
      const env = { [SECRETS_KEY_ENV]: key.toString("base64") };
      const sealed = openSecretBox(dir, env).seal("from the environment");
      assert.equal(new SecretBox(key).open(sealed), "from the environment");
      assert.throws(() => statSync(join(dir, SECRETS_KEY_FILE)), { code: "ENOENT" });
    });
  });

  it("rejects a BUSBAR_SECRETS_KEY that is not base64 of 32 bytes", () => {
    withDir((dir) => {
      for (const bad of ["short", randomBytes(16).toString("base64"), "not base64 at all!!"]) {
        rejectsWith(SecretBoxErrorCode.InvalidKey, () => openSecretBox(dir, { [SECRETS_KEY_ENV]: bad }));
      }
    });
  });

  it("rejects a key file that is not base64 of 32 bytes", () => {
    withDir((dir) => {
      writeFileSync(join(dir, SECRETS_KEY_FILE), "garbage\n", { mode: 0o600 });
      rejectsWith(SecretBoxErrorCode.InvalidKey, () => openSecretBox(dir, {}));
    });
  });
});

describe("readAuthParameters", () => {
  it("returns the stored AuthParameters with their secrets", () => {
    const box = new SecretBox(randomBytes(32));
    const params = { BasicAuthParameters: { Username: "u", Password: "p" } };
    const connection: Connection = {
      accountId: "000000000000",
      name: "c",
      arn: "arn:aws:events:us-east-1:000000000000:connection/c/x",
      authorizationType: "BASIC",
      state: "AUTHORIZED",
      authParameters: box.seal(JSON.stringify(params)),
      createdAt: 0,
      lastModifiedAt: 0,
    };
    assert.deepEqual(readAuthParameters(box, connection), params);
  });
});
