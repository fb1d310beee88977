/**
 * An account's quota of events a second (BUSBAR_PUT_EVENTS_PER_SECOND, src/ingest/account-rate.ts):
 * past it, PutEvents gets ThrottlingException, counted per account, while other accounts put on.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  callAwsJson,
  createAccount,
  eventBridgeClient,
  metric,
  rejectsWith,
  removeDataDir,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/index.js";

const TEN = Array.from({ length: 10 }, (_, i) => ({
  Source: "quota",
  DetailType: "d",
  Detail: `{"i":${i}}`,
}));

describe("BUSBAR_PUT_EVENTS_PER_SECOND", () => {
  let server: BusbarProcess;
  let team: { accessKeyId: string; secretAccessKey: string; accountId: string };

  before(async () => {
    server = await startBusbar({ env: { BUSBAR_PUT_EVENTS_PER_SECOND: "40" } });
    team = await createAccount(server.url, "quiet", TEST_ROOT);
  });

  after(async () => {
    await server.stop();
    removeDataDir(server.dataDir);
  });

  it("throttles an account past its quota, whole requests, and not the others", async () => {
    const loud = eventBridgeClient(server.url);
    const quiet = eventBridgeClient(server.url, team);
    let accepted = 0;
    let throttled = 0;
    const started = performance.now();
    for (let i = 0; i < 12; i++) {
      try {
        const r = await loud.send(new PutEventsCommand({ Entries: TEN }));
        assert.equal(r.FailedEntryCount, 0);
        accepted += 10;
      } catch (e) {
        assert.equal((e as Error).name, "ThrottlingException", String(e));
        assert.match(
          (e as Error).message,
          /^Rate exceeded: account 000000000000 may put 40 events a second \(BUSBAR_PUT_EVENTS_PER_SECOND\)\.$/,
        );
        throttled += 10;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    // A full bucket's 40 at once, then 40 a second: no more, and (within the loop's time) no less.
    assert.ok(accepted >= 40, `accepted ${accepted}`);
    assert.ok(accepted <= 40 + 40 * seconds + 10, `accepted ${accepted} in ${seconds.toFixed(2)} s`);
    assert.ok(throttled > 0);
    // Another account's quota is its own.
    const r = await quiet.send(new PutEventsCommand({ Entries: TEN }));
    assert.equal(r.FailedEntryCount, 0);
    assert.equal(
      await metric(server.url, "busbar_put_events_throttled_total", { account: "000000000000" }),
      throttled,
    );
    assert.equal(
      await metric(server.url, "busbar_put_events_throttled_total", { account: team.accountId }),
      0,
    );
    assert.equal(await metric(server.url, "Events", { account: "000000000000" }), accepted);

    // After a second, the account puts again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await loud.send(new PutEventsCommand({ Entries: TEN }));
  });

  it("refuses a throttled request before anything else is checked of it, in the protocol's shape", async () => {
    const loud = eventBridgeClient(server.url);
    for (let i = 0; i < 4; i++)
      await loud.send(new PutEventsCommand({ Entries: TEN })).catch(() => undefined);
    await rejectsWith(
      loud.send(new PutEventsCommand({ Entries: TEN })),
      "ThrottlingException",
      /Rate exceeded/,
    );
    const raw = await callAwsJson(server.url, "AWSEvents.PutEvents", { Entries: TEN }, TEST_ROOT);
    assert.equal(raw.status, 400);
    assert.equal(raw.body.__type, "ThrottlingException");
  });
});
