import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sweepInSteps } from "./sweep.js";

describe("sweepInSteps", () => {
  it("runs steps from each cursor to the next until one reaches the end, adding up what they deleted", async () => {
    const seen: Array<string | undefined> = [];
    const steps = [{ deleted: 2, next: "1:5" }, { deleted: 0, next: "3:9" }, { deleted: 4 }];
    const deleted = await sweepInSteps((cursor) => {
      seen.push(cursor);
      return Promise.resolve(steps[seen.length - 1] ?? { deleted: 0 });
    });
    assert.equal(deleted, 6);
    assert.deepEqual(seen, [undefined, "1:5", "3:9"]);
  });

  it("stops with an error when a step ends where it began, rather than looping for ever", async () => {
    let calls = 0;
    await assert.rejects(
      sweepInSteps(() => {
        calls++;
        return Promise.resolve({ deleted: 0, next: "2:7" });
      }),
      /ended where it began \(2:7\)/,
    );
    assert.equal(calls, 2);
  });
});
