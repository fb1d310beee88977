import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { withBodyParameters } from "./api-destination.js";

describe("withBodyParameters", () => {
  it("adds the connection's members and keeps the payload's own text", () => {
    const event =
      '{"id":"e","detail":{"orderId":12345678901234567890,"amount":10.50,"big":1e400,"k":1,"k":2}}';
    assert.equal(
      withBodyParameters(event, [["tenant", "a"]]),
      '{"id":"e","detail":{"orderId":12345678901234567890,"amount":10.50,"big":1e400,"k":1,"k":2},"tenant":"a"}',
    );
    assert.equal(withBodyParameters(" { } ", [["t", '"q"']]), ' { "t":"\\"q\\""} ');
    assert.equal(withBodyParameters(event, []), event);
  });
  it("lets the connection's value win over a member of the same name, the others kept as written", () => {
    assert.equal(
      withBodyParameters('{"tenant":"theirs", "n": 10.50, "d": {"x" : 1}}', [
        ["tenant", "ours"],
        ["more", "m"],
      ]),
      '{"n":10.50,"d":{"x":1},"tenant":"ours","more":"m"}',
    );
  });
  it("sends other payloads as they are", () => {
    for (const payload of ['"text"', "[1,2]", "plain text", "12", "{not json"])
      assert.equal(withBodyParameters(payload, [["t", "v"]]), payload);
  });
});
