import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, statfsSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { RESERVE_BYTES, RESERVE_FILE_NAME, makeReserve, releaseReserveIfFull } from "./reserve.js";

describe("the data directory's reserve", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "busbar-reserve-"));
    file = join(dir, RESERVE_FILE_NAME);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const free = (): number => {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize;
  };

  it("is made whole once, then kept; one cut short is made again", () => {
    assert.equal(makeReserve(dir).outcome, "made");
    assert.equal(statSync(file).size, RESERVE_BYTES);
    assert.equal(makeReserve(dir).outcome, "kept");
    truncateSync(file, 10);
    assert.equal(makeReserve(dir).outcome, "made");
    assert.equal(statSync(file).size, RESERVE_BYTES);
  });

  it("is not made on a disk without eight times its room free", () => {
    // A reserve of a quarter of what is free would need twice what is free.
    assert.equal(makeReserve(dir, Math.floor(free() / 4)).outcome, "none");
    assert.equal(statSync(file, { throwIfNoEntry: false }), undefined);
  });

  it("is released only when the disk has less free than its size", () => {
    assert.equal(releaseReserveIfFull(dir).outcome, "none");
    makeReserve(dir);
    assert.equal(releaseReserveIfFull(dir).outcome, "kept");
    assert.equal(statSync(file).size, RESERVE_BYTES);
    // As a reserve larger than the free space sees it: the disk is "full".
    assert.equal(releaseReserveIfFull(dir, free() + 1024 * 1024 * 1024).outcome, "released");
    assert.equal(statSync(file, { throwIfNoEntry: false }), undefined);
  });

  it("leaves what is not a regular file under its name alone, and says so", () => {
    mkdirSync(file);
    assert.equal(makeReserve(dir).outcome, "foreign");
    assert.equal(releaseReserveIfFull(dir, free() + 1024 * 1024 * 1024).outcome, "foreign");
    assert.ok(statSync(file).isDirectory());
  });
});
