import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Metrics } from "./index.js";

const value = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("Metrics counters", () => {
  it("count by label set, and keep counting across scrapes without counting twice", async () => {
    const m = new Metrics({ processMetrics: false });
    const a = m.invocations.labels("default", "r1", "t1");
    a.inc();
    a.inc();
    m.invocations.labels("default", "r1", "t2").inc();
    m.deliveriesResumed.inc();
    let text = (await m.render()).body;
    assert.equal(value(text, 'Invocations{bus="default",rule="r1",target="t1"}'), 2);
    assert.equal(value(text, 'Invocations{bus="default",rule="r1",target="t2"}'), 1);
    assert.equal(value(text, "busbar_deliveries_resumed_total"), 1);
    text = (await m.render()).body;
    assert.equal(
      value(text, 'Invocations{bus="default",rule="r1",target="t1"}'),
      2,
      "a second scrape adds nothing",
    );
    m.invocations.labels("default", "r1", "t1").inc();
    text = (await m.render()).body;
    assert.equal(value(text, 'Invocations{bus="default",rule="r1",target="t1"}'), 3);
  });

  it("refuse a label set of the wrong size", () => {
    const m = new Metrics({ processMetrics: false });
    assert.throws(() => m.invocations.labels("default", "r1"), /expected 3 label values, got 2/);
  });
});
