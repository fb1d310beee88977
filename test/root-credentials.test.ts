/**
 * Root credentials when BUSBAR_ROOT_* are unset: generated on first start, printed once, saved with
 * mode 0600 in the data directory, and reused (not printed) on the next start.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ListEventBusesCommand } from "@aws-sdk/client-eventbridge";
import { eventBridgeClient, removeDataDir, startBusbar } from "./support/busbar-process.js";

describe("generated root credentials", () => {
  it("are printed once, saved privately, reused, and work", async () => {
    const unset = { BUSBAR_ROOT_ACCESS_KEY_ID: "", BUSBAR_ROOT_SECRET_ACCESS_KEY: "" };
    const first = await startBusbar({ env: unset });
    const file = join(first.dataDir, "root-credentials.json");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { accessKeyId: string; secretAccessKey: string };
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(
      first.output().includes(`BUSBAR_ROOT_SECRET_ACCESS_KEY=${saved.secretAccessKey}`),
      "printed on first start",
    );
    const eb = eventBridgeClient(first.url, saved);
    assert.ok((await eb.send(new ListEventBusesCommand({}))).EventBuses?.length);
    eb.destroy();
    assert.equal(await first.stop(), 0, first.output());
    const second = await startBusbar({ dataDir: first.dataDir, env: unset });
    assert.ok(!second.output().includes(saved.secretAccessKey), "not printed again");
    assert.equal(await second.stop(), 0);
    assert.ok(!second.output().includes(saved.secretAccessKey), "never logged");
    removeDataDir(first.dataDir);
  });
});
