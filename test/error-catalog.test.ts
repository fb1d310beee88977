/**
 * The error catalogs in the code and the table in docs/errors.md agree.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { API_ERRORS } from "../src/api/index.js";
import { AUTH_ERROR_TYPES } from "../src/auth/index.js";
import { SQS_ERRORS } from "../src/queues/index.js";

const doc = readFileSync(join(import.meta.dirname, "..", "docs", "errors.md"), "utf8");
const sqsSection = doc.slice(doc.indexOf("## SQS API"));
const documentedSqs = new Map(
  [...sqsSection.matchAll(/^\| `([A-Za-z.]+)`\s*\| (\w+)\s*\| (\d{3})\s*\|/gm)].map(
    (m) => [m[1] as string, { shape: m[2] as string, status: Number(m[3]) }] as const,
  ),
);
const documented = new Map(
  [...doc.matchAll(/^\| ([A-Za-z]+)\s*\| (\d{3})\s*\|/gm)].map(
    (m) => [m[1] as string, Number(m[2])] as const,
  ),
);

describe("error catalog", () => {
  it("documents every API error type with its status, and nothing else", () => {
    assert.deepEqual([...documented.entries()].sort(), Object.entries(API_ERRORS).sort());
  });
  it("documents every SQS error code with its shape and status, and nothing else", () => {
    assert.ok(documentedSqs.size > 0, "docs/errors.md has an SQS API table");
    assert.deepEqual(
      [...documentedSqs.entries()].sort(),
      Object.entries(SQS_ERRORS)
        .map(([code, e]) => [code, { shape: e.shape, status: e.status }] as const)
        .sort(),
    );
  });
  it("answers every authentication error type with the status the API catalog gives it", () => {
    for (const [type, status] of Object.entries(AUTH_ERROR_TYPES)) {
      assert.equal((API_ERRORS as Record<string, number>)[type], status, type);
    }
  });
});
