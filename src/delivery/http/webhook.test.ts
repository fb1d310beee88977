import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { CACHE_ENTRIES, remember } from "./cache.js";
import { signingKey } from "./webhook.js";

describe("the webhook invoker's caches", () => {
  it("keep each signing key in a buffer of its own, not a slice of Node's shared pool", () => {
    const keys = new Map<string, Buffer>();
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    const key = signingKey(keys, secret);
    assert.equal(key.length, 32);
    assert.equal(key.buffer.byteLength, 32, "a pooled slice would keep the pool's 8 KiB alive");
    assert.equal(signingKey(keys, secret), key, "decoded once");
    assert.throws(() => signingKey(keys, "nope"), /starts with whsec_/);
  });

  it("hold at most CACHE_ENTRIES, forgetting the oldest", () => {
    const cache = new Map<number, number>();
    for (let i = 0; i < CACHE_ENTRIES + 10; i++) remember(cache, i, i);
    assert.equal(cache.size, CACHE_ENTRIES);
    assert.equal(cache.has(9), false);
    assert.equal(cache.has(10), true);
    assert.equal(cache.has(CACHE_ENTRIES + 9), true);
    remember(cache, 10, -1); // an entry there already is replaced, nothing forgotten
    assert.equal(cache.size, CACHE_ENTRIES);
    assert.equal(cache.has(11), true);
  });
});
