import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactSecrets } from "./classify.js";

describe("redactSecrets", () => {
  const secret = `A b"c\\d~(e)!'<f>&g`;
  it("takes a secret out as sent and in each form a request or an echo of it carries it in", () => {
    const forms = [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ q: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1),
      "A b&quot;c\\d~(e)!&#39;&lt;f&gt;&amp;g",
    ];
    for (const form of forms) {
      assert.equal(redactSecrets(`before ${form} after`, [secret]), "before *** after", form);
    }
  });

  it("leaves secrets shorter than 4 characters alone, and takes the longest first", () => {
    assert.equal(redactSecrets("a abc abcdef", ["abc", "abcdef", "abcd"]), "a abc ***");
  });
});
