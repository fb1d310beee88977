/**
 * The AWS JSON 1.1 protocol's answers to failures: which reach the server's log (unexpected ones, and
 * shaped ones of the server's own such as a store failure), with the id of the request they answered.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "./errors.js";
import { jsonNestedDeeperThan, serveAwsJson, type RawRequest } from "./protocol.js";

/** A failure of the server's own, shaped as the store's are (StoreFailureError). */
class StoreLikeFailure extends Error {
  override readonly name = "StoreFailureError";
  constructor(
    message: string,
    readonly awsType = "InternalException",
    readonly httpStatus = 500,
  ) {
    super(message);
  }
}

/** A refusal the server chose, shaped as the disk floor's is (DiskLowError). */
class LowOnDisk extends Error {
  override readonly name = "DiskLowError";
  readonly awsType = "ServiceUnavailableException";
  readonly httpStatus = 503;
}

const request = (operation: string): RawRequest => ({
  method: "POST",
  path: "/",
  query: "",
  headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSEvents.${operation}` },
  body: Buffer.from("{}"),
});

describe("serveAwsJson's failures", () => {
  it("logs unexpected and 5xx failures with the request id it answers with, and not the caller's mistakes nor the server's refusals", async () => {
    const logged: { error: unknown; operation: string; requestId: string }[] = [];
    const operations = {
      Unexpected: () => Promise.reject(new TypeError("boom")),
      StoreBroken: () => Promise.reject(new StoreLikeFailure("The store failed: SQLITE_IOERR_WRITE")),
      // The store's failure on a full disk is answered as the floor's refusal is, but it is a failure.
      StoreFull: () =>
        Promise.reject(
          new StoreLikeFailure("The store failed: SQLITE_FULL", "ServiceUnavailableException", 503),
        ),
      LowOnDisk: () => Promise.reject(new LowOnDisk("The server is low on disk space")),
      BadInput: () => Promise.reject(new ApiError("ValidationException", "Name is missing")),
    };
    const deps = {
      authenticate: () => Promise.resolve({}),
      onInternalError: (error: unknown, operation: string, requestId: string) =>
        logged.push({ error, operation, requestId }),
    };
    for (const [operation, status, type, failure] of [
      ["Unexpected", 500, "InternalException", true],
      ["StoreBroken", 500, "InternalException", true],
      ["StoreFull", 503, "ServiceUnavailableException", true],
      ["LowOnDisk", 503, "ServiceUnavailableException", false],
      ["BadInput", 400, "ValidationException", false],
    ] as const) {
      const response = await serveAwsJson(request(operation), operations, deps);
      assert.equal(response.status, status);
      assert.equal((JSON.parse(response.body) as { __type: string }).__type, type);
      if (failure) {
        const entry = logged.at(-1);
        assert.equal(entry?.operation, operation);
        assert.equal(entry?.requestId, response.headers["x-amzn-requestid"]);
      }
    }
    assert.deepEqual(
      logged.map((l) => l.operation),
      ["Unexpected", "StoreBroken", "StoreFull"],
    );
    assert.match(String(logged[2]?.error), /SQLITE_FULL/);
  });
});

describe("jsonNestedDeeperThan", () => {
  const deeper = (text: string, max: number): boolean => jsonNestedDeeperThan(Buffer.from(text), max);
  it("counts nested objects and arrays, not brackets inside strings or after escapes", () => {
    assert.equal(deeper('{"a":[{"b":[1]}]}', 4), false);
    assert.equal(deeper('{"a":[{"b":[1]}]}', 3), true);
    assert.equal(deeper('{"a":"[[[[{{{{"}', 1), false);
    assert.equal(deeper('{"a":"\\"[[[[","b":"\\\\"}', 1), false);
    assert.equal(deeper('{"a":"\\\\","b":[[1]]}', 2), true);
    assert.equal(deeper("[[],[],[],[]]", 2), false);
    // Runs of backslashes before a quote: odd escapes it, even does not.
    assert.equal(deeper('{"a":"x\\\\\\"[[[","b":1}', 1), false);
    assert.equal(deeper('{"a":"x\\\\\\\\","b":[[[1]]]}', 3), true);
    assert.equal(deeper('{"a":"\\\\\\\\"}', 1), false);
    // An unterminated string holds no more structure.
    assert.equal(deeper('{"a":"[[[[[[', 1), false);
  });
  it("agrees with a byte-at-a-time scan on random JSON-like text", () => {
    const slow = (text: string, max: number): boolean => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === "\\") i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === "[" || c === "{") {
          if (++depth > max) return true;
        } else if (c === "]" || c === "}") depth--;
      }
      return false;
    };
    let seed = 7;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 8) % n;
    const alphabet = ['"', "\\", "[", "]", "{", "}", "a", ","];
    for (let k = 0; k < 5000; k++) {
      const text = Array.from({ length: 1 + random(40) }, () => alphabet[random(alphabet.length)]).join("");
      const max = random(6);
      assert.equal(deeper(text, max), slow(text, max), JSON.stringify({ text, max }));
    }
  });
});
