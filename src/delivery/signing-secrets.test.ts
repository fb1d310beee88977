import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStoreInThread } from "../store/index.js";
import { openSecretBox } from "./secrets.js";
import { isSigningSecret, SigningSecrets } from "./signing-secrets.js";

const RULE = "arn:aws:events:us-east-1:123456789012:rule/default/r";

describe("SigningSecrets.active", () => {
  it("follows rotations, expiries and removal, though it keeps its answer between them", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-signing-"));
    const store = openSqliteStoreInThread({ dataDir });
    try {
      let now = 1_000_000;
      const secrets = new SigningSecrets(store, openSecretBox(dataDir, {}), () => now);
      assert.equal(secrets.activeNow(RULE, "t"), undefined, "nothing kept before the first ask");
      const [first] = await secrets.active(RULE, "t");
      assert.match(first ?? "", /^whsec_/);
      assert.equal(await secrets.active(RULE, "t"), await secrets.active(RULE, "t"), "kept, not rebuilt");
      assert.equal(secrets.activeNow(RULE, "t"), await secrets.active(RULE, "t"), "given at once once kept");
      assert.equal(secrets.activeNow(RULE, "other"), undefined);

      await secrets.rotate(RULE, "t", { graceSeconds: 10 });
      assert.equal(secrets.activeNow(RULE, "t"), undefined, "a rotation drops what was kept");
      const during = await secrets.active(RULE, "t");
      assert.equal(during.length, 2);
      assert.equal(during[1], first, "the previous secret signs during the grace period");

      now += 9_999;
      assert.equal((await secrets.active(RULE, "t")).length, 2);
      assert.equal(secrets.activeNow(RULE, "t")?.length, 2);
      now += 1;
      assert.equal(secrets.activeNow(RULE, "t"), undefined, "not kept past the first expiry");
      assert.deepEqual(await secrets.active(RULE, "t"), [during[0]], "the previous secret expired");

      await secrets.remove(RULE, "t");
      assert.equal(secrets.activeNow(RULE, "t"), undefined, "a removal drops what was kept");
      const fresh = await secrets.active(RULE, "t");
      assert.equal(fresh.length, 1);
      assert.notEqual(fresh[0], during[0], "a removed target's secret is not reused");
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("isSigningSecret", () => {
  it("takes whsec_ and padded base64 of 24 to 64 bytes, and nothing else", () => {
    const of = (bytes: number): string => Buffer.alloc(bytes, 7).toString("base64");
    for (const ok of [`whsec_${of(32)}`, `whsec_${of(24)}`, `whsec_${of(64)}`, `whsec_${of(31)}`])
      assert.equal(isSigningSecret(ok), true, ok);
    for (const bad of [
      `whsec_${of(23)}`,
      `whsec_${of(65)}`,
      `whsec_${of(33).replace(/=+$/, "")}A`, // 45 digits: one over a multiple of 4
      `whsec_${of(31).replace(/=+$/, "")}`, // unpadded (Go's and Python's decoders refuse it)
      `whsec_${of(32).replace(/=+$/, "")}`,
      `whsec_${of(31)}=`, // padded past a multiple of 4
      `whsec_${of(32).slice(0, -1)}==`,
      `${of(32)}`,
      `whsec_${of(32)} `,
    ])
      assert.equal(isSigningSecret(bad), false, bad);
  });
});

describe("SigningSecrets.list", () => {
  it("gives the current secret and the nine newest retiring ones of more stored by an earlier build", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-signing-many-"));
    const store = openSqliteStoreInThread({ dataDir });
    try {
      const now = 1_000_000;
      const box = openSecretBox(dataDir, {});
      // 15 secrets in use, newest first, as rotations without a bound left them.
      const stored = Array.from({ length: 15 }, (_, i) => ({
        secret: `whsec_${Buffer.alloc(32, i + 1).toString("base64")}`,
        createdAt: now - i * 1000,
        ...(i > 0 && { expiresAt: now + 86_400_000 }),
      }));
      await store.putSecret(`webhook-signing:${RULE}:t`, box.seal(JSON.stringify(stored)));
      const secrets = new SigningSecrets(store, box, () => now);
      const listed = await secrets.list(RULE, "t");
      assert.deepEqual(
        listed.map((s) => s.secret),
        stored.slice(0, 10).map((s) => s.secret),
      );
      assert.equal(
        (await secrets.active(RULE, "t")).length,
        10,
        "every request carries ten signatures at most",
      );
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
