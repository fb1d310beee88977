import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConnectionPool, type Opener, type PooledConnection } from "./pool.js";

const target = { poolKey: "broker", display: "broker://test" };
const connection: PooledConnection = { close: () => Promise.resolve() };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ConnectionPool", () => {
  // The pool's timers do not hold the process open; a hanging connect alone would let the test end.
  let keep: NodeJS.Timeout;
  before(() => (keep = setInterval(() => undefined, 1000)));
  after(() => clearInterval(keep));

  it("gives a call that joined a connect begun before it a connect of its own when that one is given up", async () => {
    const pool = new ConnectionPool<PooledConnection>(60_000, 300);
    let opens = 0;
    // The first connect hangs (a broker that accepts and never answers); the next one works.
    const open: Opener<PooledConnection> = (_gone, abandoned) => {
      opens += 1;
      if (opens > 1) return Promise.resolve(connection);
      return new Promise((_resolve, reject) =>
        abandoned.addEventListener("abort", () => reject(new Error("abandoned"))),
      );
    };
    try {
      const first = pool.use(target, open, () => Promise.resolve("first"));
      await sleep(200);
      // A retry that comes 100 ms before the hanging connect's deadline.
      const second = pool.use(target, open, () => Promise.resolve("second"));
      await assert.rejects(first, /no connection within 300 ms/);
      assert.equal(await second, "second", "the joiner connects anew rather than failing with the first");
      assert.equal(opens, 2);
      // The call that began a connect given up fails with it: it had its whole deadline.
      assert.equal(await pool.use(target, open, () => Promise.resolve("third")), "third");
    } finally {
      await pool.close();
    }
  });

  it("fails every call that began or joined a connect that failed for another reason", async () => {
    const pool = new ConnectionPool<PooledConnection>(60_000, 300);
    let opens = 0;
    const open: Opener<PooledConnection> = async () => {
      opens += 1;
      await sleep(50);
      throw new Error("connection refused");
    };
    try {
      const first = pool.use(target, open, () => Promise.resolve("first"));
      const second = pool.use(target, open, () => Promise.resolve("second"));
      await assert.rejects(first, /connection refused/);
      await assert.rejects(second, /connection refused/);
      assert.equal(opens, 1);
    } finally {
      await pool.close();
    }
  });
});
