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

  it("takes a secret out of an echo that escaped it again: JSON in JSON, JSON in HTML, as Go and Python write them", () => {
    const sent = JSON.stringify({ sb: `Bd"\\<&>Secret33é` });
    const echoes = [
      // A JSON error page that embeds the received body in a string of its own.
      JSON.stringify({ body: sent }),
      // An HTML debug page of the body, and of a JSON page of it.
      `<pre>${sent.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;")}</pre>`,
      `<pre>${JSON.stringify({ body: sent }).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&#34;")}</pre>`,
      // Go's encoding/json escapes <, > and &; Python's json.dumps every non-ASCII character.
      JSON.stringify({ body: sent }).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
      JSON.stringify({ body: sent }).replace(/[^\x20-\x7e]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
    ];
    for (const echo of echoes) {
      const redacted = redactSecrets(echo, [`Bd"\\<&>Secret33é`]);
      assert.doesNotMatch(redacted, /Secret33/, echo);
      assert.match(redacted, /\*\*\*/, echo);
    }
  });

  it("leaves secrets shorter than 4 characters alone, and takes the longest first", () => {
    assert.equal(redactSecrets("a abc abcdef", ["abc", "abcdef", "abcd"]), "a abc ***");
  });
});
