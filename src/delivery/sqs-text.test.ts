import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { refusedBySqs, sqsBody, sqsText } from "./sqs-text.js";

describe("refusedBySqs", () => {
  it("finds controls, U+FFFE, U+FFFF and lone surrogates", () => {
    for (const c of [
      "\u0000",
      "\u0008",
      "\u000B",
      "\u001B",
      "\u001F",
      "\uFFFE",
      "\uFFFF",
      "\uD800",
      "\uDC00",
    ])
      assert.ok(refusedBySqs(`a${c}b`), JSON.stringify(c));
  });

  it("takes tab, line breaks, supplementary characters and their noncharacters", () => {
    for (const text of ["a\tb\nc\rd", "héllo 日本", "😀", "\u{1FFFE}", "\uFFFD", "\uE000"])
      assert.ok(!refusedBySqs(text), JSON.stringify(text));
  });
});

describe("sqsText", () => {
  it("replaces each refused character with U+FFFD and leaves pairs whole", () => {
    assert.equal(sqsText("\u001b[31mError\u001b[0m\u0000"), "\uFFFD[31mError\uFFFD[0m\uFFFD");
    assert.equal(sqsText("😀\uD83D"), "😀\uFFFD");
  });

  it("returns acceptable text as it is", () => {
    const text = "ok 😀";
    assert.equal(sqsText(text), text);
  });
});

describe("sqsBody", () => {
  it("escapes refused characters in JSON, keeping its value", () => {
    const json = '{"note":"a\uFFFEb\uFFFFc\uD800d 😀"}';
    const body = sqsBody(json);
    assert.equal(body, '{"note":"a\\ufffeb\\uffffc\\ud800d 😀"}');
    assert.ok(!refusedBySqs(body));
    assert.deepEqual(JSON.parse(body), JSON.parse(json));
  });

  it("replaces them with U+FFFD in text", () => {
    assert.equal(sqsBody("note: a\uFFFEb\u0007"), "note: a\uFFFDb\uFFFD");
  });
});
