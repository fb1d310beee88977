import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { answersBeforeSync } from "./group-commit.js";

const queue = (name: string) => ({ accountId: "000000000000", name });

describe("answersBeforeSync", () => {
  it("answers reads, visibility changes and standard queues' receives and deletes before the fsync", () => {
    assert.equal(answersBeforeSync({ method: "getQueue", args: [queue("q")] }), true);
    assert.equal(answersBeforeSync({ method: "receiveMessages", args: [queue("q"), {}] }), true);
    assert.equal(answersBeforeSync({ method: "changeVisibility", args: [queue("q.fifo"), [], 0, 0] }), true);
    assert.equal(answersBeforeSync({ method: "changeVisibility", args: [queue("q"), [], 0, 0] }), true);
    assert.equal(answersBeforeSync({ method: "deleteMessages", args: [queue("q"), [], 0] }), true);
  });
  it("makes sends, FIFO receives and deletes, and other writes wait for it", () => {
    // A FIFO receive may hand out a group's next message on a delete not yet durable.
    assert.equal(answersBeforeSync({ method: "receiveMessages", args: [queue("q.fifo"), {}] }), false);
    assert.equal(answersBeforeSync({ method: "deleteMessages", args: [queue("q.fifo"), [], 0] }), false);
    assert.equal(answersBeforeSync({ method: "sendMessages", args: [queue("q"), []] }), false);
    assert.equal(answersBeforeSync({ method: "appendEvents", args: [[]] }), false);
    assert.equal(answersBeforeSync({ method: "completeDeliveries", args: [[]] }), false);
  });
});
