/**
 * Root credentials when BUSBAR_ROOT_* are unset: generated on first start, printed once, saved with
 * mode 0600 in the data directory, and reused (not printed) on the next start. A root key deleted
 * with `busbar keys delete` is not made again from them. None are made for a start that is refused
 * (another program's busbar.db, a newer Busbar's, a used directory whose busbar.db is gone).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListEventBusesCommand } from "@aws-sdk/client-eventbridge";
import Database from "better-sqlite3";
import { MIGRATIONS, SCHEMA_VERSION, applyMigration } from "../src/store/index.js";
import { eventBridgeClient, removeDataDir, runBusbar, startBusbar, TEST_ROOT } from "./support/index.js";

/** The environment of `busbar` commands on a data directory: no endpoint of the caller's. */
const { BUSBAR_ENDPOINT: _endpoint, ...cli } = process.env;

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

describe("a deleted root key", () => {
  it("stays deleted at the next start, with a warning; other credentials are made a root key", async () => {
    const first = await startBusbar();
    assert.equal(await first.stop(), 0, first.output());
    const deleted = runBusbar(["keys", "delete", TEST_ROOT.accessKeyId, "--data-dir", first.dataDir], {
      env: cli,
    });
    assert.equal(deleted.status, 0, deleted.stderr);
    // Started again with the same credentials in BUSBAR_ROOT_*: the key is not made again.
    const second = await startBusbar({ dataDir: first.dataDir });
    try {
      const eb = eventBridgeClient(second.url);
      await assert.rejects(eb.send(new ListEventBusesCommand({})), { name: "UnrecognizedClientException" });
      eb.destroy();
      assert.match(second.output(), /"accessKeyId":"BBTESTROOTKEY0000001"/);
      assert.match(second.output(), /the root key of the root credentials was deleted, and is not restored/);
    } finally {
      assert.equal(await second.stop(), 0);
    }
    // New credentials (another key id): a root key again.
    const other = { accessKeyId: "BBTESTROOTKEY0000002", secretAccessKey: "another-root-secret-0123456789" };
    const third = await startBusbar({
      dataDir: first.dataDir,
      env: {
        BUSBAR_ROOT_ACCESS_KEY_ID: other.accessKeyId,
        BUSBAR_ROOT_SECRET_ACCESS_KEY: other.secretAccessKey,
      },
    });
    try {
      const eb = eventBridgeClient(third.url, other);
      assert.ok((await eb.send(new ListEventBusesCommand({}))).EventBuses?.length);
      eb.destroy();
      assert.doesNotMatch(third.output(), /is not restored/);
    } finally {
      assert.equal(await third.stop(), 0);
      removeDataDir(first.dataDir);
    }
  });
});

describe("a root credentials file that is not one", () => {
  it("is named when the server refuses to start", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-test-"));
    const file = join(dataDir, "root-credentials.json");
    writeFileSync(file, "garbage\n", { mode: 0o600 });
    const r = runBusbar(["serve", "--port", "0", "--data-dir", dataDir], {
      env: { ...cli, BUSBAR_ROOT_ACCESS_KEY_ID: "", BUSBAR_ROOT_SECRET_ACCESS_KEY: "" },
      timeoutMs: 20_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^error: Busbar could not start: ${file} is not a valid credentials file: `),
    );
    removeDataDir(dataDir);
  });
});

describe("a data directory every user may write", () => {
  it("is served, with a warning that names it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-test-"));
    chmodSync(dataDir, 0o777);
    const server = await startBusbar({ dataDir });
    try {
      assert.match(server.output(), /the data directory is writable by every user/);
    } finally {
      assert.equal(await server.stop(), 0);
      removeDataDir(dataDir);
    }
  });
});

describe("a data directory of another region", () => {
  it("is refused at start, naming the region its ARNs are of", async () => {
    const first = await startBusbar({ env: { BUSBAR_REGION: "eu-west-1" } });
    assert.equal(await first.stop(), 0, first.output());
    const r = runBusbar(["serve", "--port", "0", "--data-dir", first.dataDir], {
      env: { ...cli, BUSBAR_REGION: "us-east-1" },
      timeoutMs: 20_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: Busbar could not start: .* is of region eu-west-1 \(its buses' ARNs name it\), not us-east-1: start with BUSBAR_REGION=eu-west-1/,
    );
    // Its own region starts.
    const again = await startBusbar({ dataDir: first.dataDir, env: { BUSBAR_REGION: "eu-west-1" } });
    assert.equal(await again.stop(), 0, again.output());
    removeDataDir(first.dataDir);
  });
});

describe("a used data directory whose busbar.db is gone", () => {
  it("is refused, naming the files a start that made it wrote, rather than started afresh", async () => {
    const server = await startBusbar({
      env: { BUSBAR_ROOT_ACCESS_KEY_ID: "", BUSBAR_ROOT_SECRET_ACCESS_KEY: "" },
    });
    assert.equal(await server.stop(), 0);
    const dataDir = server.dataDir;
    const file = join(dataDir, "busbar.db");
    const serve = () =>
      runBusbar(["serve", "--port", "0", "--data-dir", dataDir], {
        env: { ...cli, BUSBAR_ROOT_ACCESS_KEY_ID: "", BUSBAR_ROOT_SECRET_ACCESS_KEY: "" },
        timeoutMs: 20_000,
      });
    truncateSync(file, 0);
    let r = serve();
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: Busbar could not start: ${file} is empty, but ${dataDir} holds installation\\.json and root-credentials\\.json`,
        "m",
      ),
    );
    assert.equal(statSync(file).size, 0, "nothing made in its place");
    rmSync(file);
    rmSync(join(dataDir, "installation.json"));
    r = serve();
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${file} is missing, but ${dataDir} holds root-credentials\\.json`));
    assert.equal(existsSync(file), false);
    // Its way out: without those files, the directory starts afresh.
    rmSync(join(dataDir, "root-credentials.json"));
    const fresh = await startBusbar({ dataDir });
    assert.equal(await fresh.stop(), 0);
    removeDataDir(dataDir);
  });

  it("is told from a new directory given only its secrets key, and directories made before the marker get it", async () => {
    // An operator may place the secrets key (a mounted secret) before the first start: that starts.
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-test-"));
    const key = randomBytes(32).toString("base64");
    writeFileSync(join(dataDir, "secrets.key"), `${key}\n`, { mode: 0o600 });
    const first = await startBusbar({ dataDir });
    assert.equal(await first.stop(), 0);
    assert.equal(
      readFileSync(join(dataDir, "secrets.key"), "utf8").trim(),
      key,
      "the key placed is the key used",
    );
    const marker = JSON.parse(readFileSync(join(dataDir, "installation.json"), "utf8")) as {
      writtenAt: string;
    };
    assert.ok(
      !Number.isNaN(Date.parse(marker.writtenAt)),
      readFileSync(join(dataDir, "installation.json"), "utf8"),
    );
    assert.equal(statSync(join(dataDir, "installation.json")).mode & 0o777, 0o600);
    // A directory without the marker (made by an earlier Busbar) gets it at its next start.
    rmSync(join(dataDir, "installation.json"));
    const again = await startBusbar({ dataDir });
    assert.equal(await again.stop(), 0);
    assert.ok(existsSync(join(dataDir, "installation.json")));
    // ... and is then refused without its database (no root-credentials.json here: the test's are given).
    assert.equal(existsSync(join(dataDir, "root-credentials.json")), false);
    rmSync(join(dataDir, "busbar.db"));
    for (const f of ["busbar.db-wal", "busbar.db-shm"]) rmSync(join(dataDir, f), { force: true });
    const r = runBusbar(["serve", "--port", "0", "--data-dir", dataDir], { env: cli, timeoutMs: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /busbar\.db is missing, but .* holds installation\.json, which a start that made its database wrote/,
    );
    removeDataDir(dataDir);
  });
});

describe("a busbar.db that is not this Busbar's", () => {
  /** `busbar serve` on a new data directory holding only the busbar.db that `make` writes. */
  function serveOn(make: (db: Database.Database) => void, storeThread: string) {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-test-"));
    const file = join(dataDir, "busbar.db");
    const db = new Database(file);
    make(db);
    db.close();
    const r = runBusbar(["serve", "--port", "0", "--data-dir", dataDir], {
      env: {
        ...cli,
        BUSBAR_ROOT_ACCESS_KEY_ID: "",
        BUSBAR_ROOT_SECRET_ACCESS_KEY: "",
        BUSBAR_STORE_THREAD: storeThread,
      },
      timeoutMs: 20_000,
    });
    const saved = existsSync(join(dataDir, "root-credentials.json"));
    removeDataDir(dataDir);
    return { ...r, file, saved };
  }

  for (const storeThread of ["worker", "main"]) {
    it(`is refused naming the file, before credentials are made or printed (store on ${storeThread})`, () => {
      const foreign = serveOn((db) => db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"), storeThread);
      assert.equal(foreign.status, 1, foreign.stderr);
      assert.match(
        foreign.stderr,
        new RegExp(`^error: Busbar could not start: .*cannot open ${foreign.file} as a Busbar database: `),
      );
      // Written by a newer Busbar: its schema version is past this one's.
      const newer = serveOn((db) => db.pragma("user_version = 999"), storeThread);
      assert.equal(newer.status, 1, newer.stderr);
      assert.match(
        newer.stderr,
        new RegExp(`^error: Busbar could not start: The database ${newer.file} has schema version 999 `),
      );
      for (const r of [foreign, newer]) {
        assert.doesNotMatch(r.stdout + r.stderr, /root credentials|BUSBAR_ROOT_SECRET_ACCESS_KEY=/);
        assert.equal(r.saved, false, "no root-credentials.json");
      }
    });
  }
});

describe("a busbar.db of an older schema", () => {
  it("is upgraded at start with a line in the log saying so, and only then", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-test-"));
    const older = SCHEMA_VERSION - 1;
    const db = new Database(join(dataDir, "busbar.db"));
    for (const migration of MIGRATIONS.slice(0, older)) applyMigration(db, migration);
    db.pragma(`user_version = ${older}`);
    db.close();
    const line = `upgraded busbar.db from schema version ${older} to ${SCHEMA_VERSION}`;
    const first = await startBusbar({ dataDir });
    assert.equal(await first.stop(), 0);
    const upgraded = first
      .output()
      .split("\n")
      .filter((l) => l.includes(line));
    assert.equal(upgraded.length, 1, first.output());
    const record = JSON.parse(upgraded[0] ?? "{}") as Record<string, unknown>;
    assert.equal(record.fromSchemaVersion, older);
    assert.equal(record.toSchemaVersion, SCHEMA_VERSION);
    // Said before too: a large store takes a while.
    const before = first
      .output()
      .indexOf(`upgrading busbar.db from schema version ${older} to ${SCHEMA_VERSION}`);
    assert.ok(before >= 0 && before < first.output().indexOf(line), first.output());
    const again = await startBusbar({ dataDir });
    assert.equal(await again.stop(), 0);
    assert.doesNotMatch(again.output(), /upgrad(ed|ing) busbar\.db/);
    removeDataDir(dataDir);
  });
});
