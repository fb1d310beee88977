import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { LATENCY_BUCKETS_MS, Metrics } from "./index.js";

const value = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** The account of the series (two accounts' same-named buses, rules and targets are apart). */
const A = "111111111111";

describe("Metrics counters", () => {
  it("render exactly as prom-client's counters render the same counts, escapes included", async () => {
    const m = new Metrics({ processMetrics: false });
    const reference = new Registry();
    const expected = new Counter({
      name: "FailedInvocations",
      help: "x",
      labelNames: ["account", "bus", "rule", "target", "code"],
      registers: [reference],
    });
    const sets = [
      ["default", "r1", "t1", "HTTP_500"],
      ["default", 'r"2\\', "t\n1", "TIMEOUT"],
      ["other", "r1", "t1", "HTTP_500"],
    ] as const;
    sets.forEach(([bus, rule, target, code], i) => {
      m.failedInvocations.labels(A, bus, rule, target, code).inc(i + 1);
      expected.inc({ account: A, bus, rule, target, code }, i + 1);
    });
    const lines = (text: string) => text.split("\n").filter((l) => l.startsWith("FailedInvocations{"));
    assert.deepEqual(lines(await m.text()), lines(await reference.metrics()));
    assert.equal(lines(await m.text()).length, 3);
  });

  it("write a scrape of many series a few thousand lines at a time, letting other work run between", async () => {
    const m = new Metrics({ processMetrics: false });
    for (let i = 0; i < 20_000; i += 1) m.invocations.labels(A, "default", `r${i}`, "t").inc();
    let turns = 0;
    let rendering = true;
    const count = async (): Promise<void> => {
      while (rendering) {
        turns += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const counting = count();
    const text = await m.text();
    rendering = false;
    await counting;
    assert.equal(text.split("\n").filter((l) => l.startsWith("Invocations{")).length, 20_000);
    assert.ok(turns >= 20_000 / 4_000, `other work ran ${turns} times during the scrape`);
  });

  it("count by label set, and keep counting across scrapes without counting twice", async () => {
    const m = new Metrics({ processMetrics: false });
    const a = m.invocations.labels(A, "default", "r1", "t1");
    a.inc();
    a.inc();
    m.invocations.labels(A, "default", "r1", "t2").inc();
    m.deliveriesResumed.inc();
    let text = await m.text();
    assert.equal(value(text, 'Invocations{account="111111111111",bus="default",rule="r1",target="t1"}'), 2);
    assert.equal(value(text, 'Invocations{account="111111111111",bus="default",rule="r1",target="t2"}'), 1);
    assert.equal(value(text, "busbar_deliveries_resumed_total"), 1);
    text = await m.text();
    assert.equal(
      value(text, 'Invocations{account="111111111111",bus="default",rule="r1",target="t1"}'),
      2,
      "a second scrape adds nothing",
    );
    m.invocations.labels(A, "default", "r1", "t1").inc();
    text = await m.text();
    assert.equal(value(text, 'Invocations{account="111111111111",bus="default",rule="r1",target="t1"}'), 3);
  });

  it("refuse a label set of the wrong size", () => {
    const m = new Metrics({ processMetrics: false });
    assert.throws(() => m.invocations.labels(A, "default", "r1"), /expected 4 label values, got 3/);
  });
});

describe("Metrics histograms", () => {
  /** The series of one metric in a scrape, without its HELP and TYPE lines. */
  const series = (text: string, name: string): string[] =>
    text.split("\n").filter((l) => l.startsWith(`${name}_`) || l.startsWith(`${name}{`));

  it("render exactly as prom-client's histogram renders the same observations", async () => {
    const m = new Metrics({ processMetrics: false });
    const reference = new Registry();
    const expected = new Histogram({
      name: "IngestiontoInvocationStartLatency",
      help: "x",
      labelNames: ["account", "bus", "rule", "target"],
      buckets: LATENCY_BUCKETS_MS,
      registers: [reference],
    });
    // Values on and around bucket bounds, beyond the last one, zero and fractions.
    const values = [0, 0.25, 0.5, 0.50001, 1, 3, 5, 20, 20.5, 999.9, 1000, 86_400_000, 86_400_001, 1e12];
    const sets = [
      ["default", "r1", "t1"],
      ["default", 'r"2\\', "t1"],
      ["default", "r1", "t2"],
      ["other", "r1", "t1"],
    ] as const;
    sets.forEach(([bus, rule, target], i) => {
      const child = m.ingestionToInvocationStartLatency.labels(A, bus, rule, target);
      for (const v of values.slice(i)) {
        child.observe(v);
        expected.observe({ account: A, bus, rule, target }, v);
      }
    });
    // A label set without observations appears in neither.
    m.ingestionToInvocationStartLatency.labels(A, "default", "unused", "t1");
    const name = "IngestiontoInvocationStartLatency";
    const ours = series(await m.text(), name);
    assert.deepEqual(ours, series(await reference.metrics(), name));
    assert.equal(ours.length, sets.length * (LATENCY_BUCKETS_MS.length + 3));
  });

  it("keep their counts across scrapes and refuse a label set of the wrong size", async () => {
    const m = new Metrics({ processMetrics: false });
    m.ingestionToInvocationCompleteLatency.labels(A, "default", "r", "t").observe(3);
    await m.render();
    m.ingestionToInvocationCompleteLatency.labels(A, "default", "r", "t").observe(7);
    const text = await m.text();
    const labels = 'account="111111111111",bus="default",rule="r",target="t"';
    assert.equal(value(text, `IngestiontoInvocationCompleteLatency_count{${labels}}`), 2);
    assert.equal(value(text, `IngestiontoInvocationCompleteLatency_sum{${labels}}`), 10);
    assert.equal(value(text, `IngestiontoInvocationCompleteLatency_bucket{le="5",${labels}}`), 1);
    assert.throws(
      () => m.ingestionToInvocationCompleteLatency.labels(A, "default", "r"),
      /expected 4 label values, got 3/,
    );
  });
});

describe("Metrics.forget", () => {
  const fill = (m: Metrics): void => {
    for (const bus of ["default", "other"]) {
      m.events.labels(A, bus).inc();
      m.matchedEvents.labels(A, bus).inc();
      for (const rule of ["r1", "r2"]) {
        m.triggeredRules.labels(A, bus, rule).inc();
        for (const target of ["t1", "t2"]) {
          m.ingestionToInvocationStartLatency.labels(A, bus, rule, target).observe(3);
          m.invocations.labels(A, bus, rule, target).inc();
          m.failedInvocations.labels(A, bus, rule, target, "HTTP_500").inc();
        }
      }
    }
  };
  const series = async (m: Metrics): Promise<string[]> =>
    (await m.text())
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("busbar_"))
      .map((l) => l.slice(0, l.lastIndexOf(" ")))
      .filter((s) => !s.includes("_bucket"));

  it("removes the series of some targets of a rule, of a rule, and of a bus, and no others", async () => {
    const m = new Metrics({ processMetrics: false });
    fill(m);
    await m.render(); // scraped before they go: removed all the same
    const all = await series(m);
    // Per bus: Events and MatchedEvents; per rule TriggeredRules; per target the histogram's _sum and
    // _count, Invocations and FailedInvocations.
    assert.equal(all.length, 2 * (2 + 2 * 1 + 2 * 2 * (2 + 2)));

    m.forget({ account: A, bus: "default", rule: "r1", targets: ["t1"] });
    let left = await series(m);
    assert.deepEqual(
      all.filter((s) => !left.includes(s)),
      [
        'IngestiontoInvocationStartLatency_sum{account="111111111111",bus="default",rule="r1",target="t1"}',
        'IngestiontoInvocationStartLatency_count{account="111111111111",bus="default",rule="r1",target="t1"}',
        'Invocations{account="111111111111",bus="default",rule="r1",target="t1"}',
        'FailedInvocations{account="111111111111",bus="default",rule="r1",target="t1",code="HTTP_500"}',
      ].sort((a, b) => all.indexOf(a) - all.indexOf(b)),
    );

    m.forget({ account: A, bus: "default", rule: "r2" });
    left = await series(m);
    assert.ok(left.every((s) => !s.includes('account="111111111111",bus="default",rule="r2"')));
    assert.ok(left.includes('TriggeredRules{account="111111111111",bus="default",rule="r1"}'));
    assert.ok(left.includes('Events{account="111111111111",bus="default"}'));

    m.forget({ account: A, bus: "default" });
    left = await series(m);
    assert.ok(
      left.every((s) => !s.includes('account="111111111111",bus="default"')),
      left.join("\n"),
    );
    assert.equal(left.length, all.length / 2, "the other bus keeps all of its series");

    // Another account's series of the same names are apart, and stay.
    m.invocations.labels("222222222222", "default", "r1", "t1").inc(5);
    m.forget({ account: A, bus: "default", rule: "r1" });
    assert.equal(
      value(await m.text(), 'Invocations{account="222222222222",bus="default",rule="r1",target="t1"}'),
      5,
    );

    // A series made again after it went starts from zero.
    m.invocations.labels(A, "default", "r1", "t1").inc();
    assert.equal(
      value(await m.text(), 'Invocations{account="111111111111",bus="default",rule="r1",target="t1"}'),
      1,
    );
  });
});

describe("Metrics per-account series budget", () => {
  const B = "222222222222";
  const labels = (account: string, bus: string, rule: string, target: string): string =>
    `account="${account}",bus="${bus}",rule="${rule}",target="${target}"`;

  it("gives an account's first targets series of their own and sums the rest under rule and target *", async () => {
    const m = new Metrics({ processMetrics: false, maxTargetsPerAccount: 2 });
    for (const [rule, target, n] of [
      ["r1", "t1", 1],
      ["r1", "t2", 2],
      ["r1", "t3", 4],
      ["r2", "t1", 8],
    ] as const) {
      m.invocations.labels(A, "default", rule, target).inc(n);
      m.failedInvocations.labels(A, "default", rule, target, "HTTP_500").inc(n);
      m.ingestionToInvocationStartLatency.labels(A, "default", rule, target).observe(n);
    }
    m.invocations.labels(A, "other", "r1", "t1").inc(16);
    // Another account has a budget of its own.
    for (const target of ["t1", "t2", "t3"]) m.invocations.labels(B, "default", "r1", target).inc(32);
    // Counts per rule are not per target: TriggeredRules is not held to the budget.
    for (const rule of ["r1", "r2", "r3"]) m.triggeredRules.labels(A, "default", rule).inc();

    const text = await m.text();
    assert.equal(value(text, `Invocations{${labels(A, "default", "r1", "t1")}}`), 1);
    assert.equal(value(text, `Invocations{${labels(A, "default", "r1", "t2")}}`), 2);
    assert.equal(value(text, `Invocations{${labels(A, "default", "r1", "t3")}}`), undefined);
    assert.equal(value(text, `Invocations{${labels(A, "default", "r2", "t1")}}`), undefined);
    assert.equal(value(text, `Invocations{${labels(A, "default", "*", "*")}}`), 4 + 8);
    assert.equal(value(text, `FailedInvocations{${labels(A, "default", "*", "*")},code="HTTP_500"}`), 12);
    assert.equal(
      value(text, `IngestiontoInvocationStartLatency_count{${labels(A, "default", "*", "*")}}`),
      2,
    );
    assert.equal(value(text, `IngestiontoInvocationStartLatency_sum{${labels(A, "default", "*", "*")}}`), 12);
    assert.equal(
      value(text, `Invocations{${labels(A, "other", "*", "*")}}`),
      16,
      "past the budget on any bus",
    );
    assert.equal(value(text, `Invocations{${labels(B, "default", "r1", "t2")}}`), 32);
    assert.equal(value(text, `Invocations{${labels(B, "default", "*", "*")}}`), 32);
    assert.equal(value(text, `TriggeredRules{account="${A}",bus="default",rule="r3"}`), 1);
    assert.equal(text.split("\n").filter((l) => l.startsWith(`Invocations{account="${A}"`)).length, 4);
  });

  it("gives a forgotten target's place to the next target, and keeps the sums until their bus goes", async () => {
    const m = new Metrics({ processMetrics: false, maxTargetsPerAccount: 2 });
    for (const target of ["t1", "t2", "t3"]) m.invocations.labels(A, "default", "r1", target).inc();
    m.forget({ account: A, bus: "default", rule: "r1", targets: ["t1"] });
    m.invocations.labels(A, "default", "r1", "t4").inc(5);
    m.invocations.labels(A, "default", "r1", "t3").inc();
    let text = await m.text();
    assert.equal(value(text, `Invocations{${labels(A, "default", "r1", "t4")}}`), 5, "t1's place");
    assert.equal(
      value(text, `Invocations{${labels(A, "default", "*", "*")}}`),
      2,
      "t3 still past the budget",
    );
    assert.equal(value(text, `Invocations{${labels(A, "default", "r1", "t1")}}`), undefined);

    // A rule's deletion frees its targets' places; the sums stay with the bus.
    m.forget({ account: A, bus: "default", rule: "r1" });
    m.invocations.labels(A, "default", "r9", "a").inc();
    m.invocations.labels(A, "default", "r9", "b").inc();
    text = await m.text();
    assert.equal(value(text, `Invocations{${labels(A, "default", "r9", "a")}}`), 1);
    assert.equal(value(text, `Invocations{${labels(A, "default", "r9", "b")}}`), 1);
    assert.equal(value(text, `Invocations{${labels(A, "default", "*", "*")}}`), 2);

    m.forget({ account: A, bus: "default" });
    text = await m.text();
    assert.equal(text.split("\n").filter((l) => l.startsWith("Invocations{")).length, 0);
  });

  it("with a budget of 0, sums every target of an account per bus", async () => {
    const m = new Metrics({ processMetrics: false, maxTargetsPerAccount: 0 });
    m.invocations.labels(A, "default", "r1", "t1").inc();
    m.invocations.labels(A, "default", "r2", "t1").inc();
    assert.equal(value(await m.text(), `Invocations{${labels(A, "default", "*", "*")}}`), 2);
  });
});

describe("Metrics of the disk floor", () => {
  it("show free space only when it is measured (the floor on), and whether it is low either way", async () => {
    const off = new Metrics({ processMetrics: false });
    off.readDiskState(() => ({ room: undefined, low: false }), false);
    const offText = await off.text();
    assert.doesNotMatch(offText, /^busbar_disk_free_bytes /m);
    assert.doesNotMatch(offText, /^busbar_store_reusable_bytes /m);
    assert.match(offText, /^busbar_disk_low 0$/m);
    const on = new Metrics({ processMetrics: false });
    const room = { free: 5_000_000, reusable: 4096, wal: 0 };
    on.readDiskState(() => ({ room, low: true }), true);
    const onText = await on.text();
    assert.match(onText, /^busbar_disk_free_bytes 5000000$/m);
    assert.match(onText, /^busbar_store_reusable_bytes 4096$/m);
    assert.match(onText, /^busbar_disk_low 1$/m);
  });
});
