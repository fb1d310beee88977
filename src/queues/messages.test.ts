import { describe, it } from "node:test";
import { createHmac } from "node:crypto";
import assert from "node:assert/strict";
import { QueueError } from "./errors/index.js";
import { checkAttributes, checkBody, filterAttributes, md5OfAttributes, md5OfBody } from "./messages.js";
import { ReceiptCodec } from "./receipts.js";

const s = (v: string) => ({ DataType: "String", StringValue: v });

describe("message digests", () => {
  it("digests bodies as SQS does", () => {
    assert.equal(md5OfBody("hello"), "5d41402abc4b2a76b9719d911017c592");
    assert.equal(md5OfBody("héllo"), "be50e8478cf24ff3595bc7307fb91b50");
  });
  it("digests attributes in SQS's length-prefixed encoding (published and AWS-recorded vectors)", () => {
    assert.equal(md5OfAttributes({ attribName1: s("attribValue 1") }), "19e27d4e946b072f3f58da80d94fd778");
    assert.equal(
      md5OfAttributes({
        customNumberTypeAttrib: {
          DataType: "Number.float",
          StringValue: "4563442423554324324264524243.32543234",
        },
      }),
      "9fe1b90bbd9965bdf77bac517c7d2495",
    );
    const binary = { DataType: "Binary", BinaryValue: Buffer.from("Hello binary world!").toString("base64") };
    assert.equal(md5OfAttributes({ binaryAttribute: binary }), "31a92b15d92f8db860eda32aceb656c3");
    assert.equal(md5OfAttributes({ Foo: s("Bar") }), "ae7155c6026991b6d54b11589678bf9c");
    assert.equal(
      md5OfAttributes({ Hello: s("There"), General: s("Kenobi"), "Help.Me": s("Me") }),
      "4c360f3fdafd970e05fae2f149d997f5",
    );
    assert.equal(md5OfAttributes({}), undefined);
    assert.equal(md5OfAttributes(undefined), undefined);
  });
  it("filters attributes by exact name, prefix.* and All", () => {
    const all = { General: s("Kenobi"), Hello: s("There"), "Help.Me": s("Me") };
    assert.deepEqual(Object.keys(filterAttributes(all, ["Help.*"]) ?? {}), ["Help.Me"]);
    // The prefix is what comes before ".*", dot or not (SQS: "Hel.*" gives Hello and Help.Me).
    assert.deepEqual(Object.keys(filterAttributes(all, ["Hel.*"]) ?? {}), ["Hello", "Help.Me"]);
    assert.deepEqual(Object.keys(filterAttributes(all, ["Gen.*", "Nope.*"]) ?? {}), ["General"]);
    assert.equal(filterAttributes(all, ["*"]), all);
    assert.equal(filterAttributes(all, [".*"]), all);
    assert.deepEqual(Object.keys(filterAttributes(all, ["Hello.*"]) ?? {}), ["Hello"]);
    // A name that is also a property of Object.prototype is kept like any other.
    const proto = JSON.parse(
      '{"__proto__":{"DataType":"String","StringValue":"p"},"x":{"DataType":"String","StringValue":"x"}}',
    ) as typeof all;
    assert.deepEqual(Object.keys(filterAttributes(proto, ["__proto__"]) ?? {}), ["__proto__"]);
    assert.deepEqual(Object.keys(filterAttributes(proto, ["__p.*"]) ?? {}), ["__proto__"]);
    assert.equal(md5OfAttributes(filterAttributes(all, ["Hello"])), "a311262e065454b75da111d535b8dacd");
    assert.equal(filterAttributes(all, ["All"]), all);
    assert.equal(filterAttributes(all, ["Nope"]), undefined);
    assert.equal(filterAttributes(all, []), undefined);
  });
});

describe("message checks", () => {
  it("refuses bodies with characters SQS does not allow, lone surrogates included", () => {
    assert.equal(checkBody("ok \t\n\r é 😀"), "ok \t\n\r é 😀");
    for (const bad of ["\u0000", "\u0008", "\uFFFE", "\uD800"]) {
      assert.throws(
        () => checkBody(`x${bad}`),
        (e: QueueError) => e.code === "InvalidMessageContents",
      );
    }
    assert.throws(
      () => checkBody(""),
      (e: QueueError) => e.code === "MissingParameter",
    );
  });
  it("takes Number values from 10^-128 to 10^+126 with 38 significant digits at most", () => {
    const number = (v: string) => () => checkAttributes({ n: { DataType: "Number", StringValue: v } });
    for (const ok of [
      "1e126",
      "1E+126",
      "10e125",
      "9.99e125",
      "-1e126",
      "1e-128",
      "0",
      "0.0",
      `1${"0".repeat(37)}`,
    ])
      assert.doesNotThrow(number(ok), ok);
    for (const bad of ["9.9e126", "1.0000001e126", "2e126", "1e127", "1e-129", `1${"1".repeat(38)}`])
      assert.throws(number(bad), /Can.t cast the value of message \(user\) attribute .n. to a number/, bad);
  });
  it("counts attribute names, types and values toward the message size", () => {
    const { size } = checkAttributes({ ab: s("xyz"), n: { DataType: "Number", StringValue: "1.5e3" } });
    assert.equal(size, 2 + 6 + 3 + (1 + 6 + 5));
    assert.throws(
      () => checkAttributes({ n: { DataType: "Number", StringValue: "1".repeat(39) } }),
      QueueError,
    );
    assert.doesNotThrow(() => checkAttributes({ n: { DataType: "Number", StringValue: "1".repeat(38) } }));
    assert.throws(() => checkAttributes({ "a..b": s("x") }), QueueError);
    assert.throws(() => checkAttributes({ "amazon.x": s("x") }), QueueError);
    assert.throws(() => checkAttributes({ b: { DataType: "Binary", BinaryValue: "!!" } }), QueueError);
  });
});

describe("receipt handles", () => {
  const codec = new ReceiptCodec("secret");
  const queue = { accountId: "000000000000", name: "q" };
  it("round-trips, and refuses forged, altered and other queues' handles", () => {
    const handle = codec.encode(queue, { seq: 42, receiveCount: 3 });
    assert.deepEqual(codec.decode(queue, handle), {
      seq: 42,
      receiveCount: 3,
      accountId: "000000000000",
      queueName: "q",
    });
    const code = (f: () => unknown) => {
      try {
        f();
        return "none";
      } catch (e) {
        return (e as QueueError).code;
      }
    };
    assert.equal(
      code(() => codec.decode(queue, "forged")),
      "ReceiptHandleIsInvalid",
    );
    assert.equal(
      code(() => codec.decode(queue, `x${handle}`)),
      "ReceiptHandleIsInvalid",
    );
    assert.equal(
      code(() => new ReceiptCodec("other").decode(queue, handle)),
      "ReceiptHandleIsInvalid",
    );
    assert.throws(() => codec.decode({ ...queue, name: "r" }, handle), /not valid for this queue/);
    // Each character of the MAC counts: changing any one of them makes the handle invalid.
    const dot = handle.indexOf(".");
    for (let i = dot + 1; i < handle.length; i++) {
      const altered = handle.slice(0, i) + (handle[i] === "A" ? "B" : "A") + handle.slice(i + 1);
      assert.equal(
        code(() => codec.decode(queue, altered)),
        "ReceiptHandleIsInvalid",
      );
    }
    assert.equal(
      code(() => codec.decode(queue, `${handle}A`)),
      "ReceiptHandleIsInvalid",
    );
  });

  it("reads handles of the earlier HMAC form (v1), issued before an upgrade", () => {
    const key = createHmac("sha256", "secret").update("busbar receipt handles v1").digest();
    const payload = Buffer.from("42.3.000000000000.q", "utf8");
    const mac = createHmac("sha256", key).update(payload).digest().subarray(0, 12);
    const v1 = `${payload.toString("base64url")}.${mac.toString("base64url")}`;
    assert.deepEqual(codec.decode(queue, v1), {
      seq: 42,
      receiveCount: 3,
      accountId: "000000000000",
      queueName: "q",
    });
    assert.notEqual(codec.encode(queue, { seq: 42, receiveCount: 3 }), v1);
    assert.throws(() => new ReceiptCodec("other").decode(queue, v1), QueueError);
    // And with an earlier key.
    assert.equal(new ReceiptCodec("new", ["secret"]).decode(queue, v1).seq, 42);
  });

  it("reads handles made with an earlier key, and makes new ones with the current key only", () => {
    const before = codec.encode(queue, { seq: 7, receiveCount: 1 });
    const now = new ReceiptCodec("new", ["secret"]);
    assert.equal(now.decode(queue, before).seq, 7);
    const made = now.encode(queue, { seq: 8, receiveCount: 1 });
    assert.notEqual(made, before.replace("7.1", "8.1"));
    assert.equal(new ReceiptCodec("new").decode(queue, made).seq, 8);
    assert.throws(() => codec.decode(queue, made), QueueError);
    assert.throws(() => new ReceiptCodec("new").decode(queue, before), QueueError);
    assert.throws(() => new ReceiptCodec("new", ["other"]).decode(queue, before), QueueError);
  });
});
