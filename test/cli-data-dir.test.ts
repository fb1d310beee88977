/**
 * `busbar accounts|keys --data-dir DIR` on data directories that cannot be used (damaged, empty, of a
 * newer Busbar, never made by `busbar serve`), with options the server would refuse, and with a
 * standard output that cannot be written: one line naming the file and the reason, never a stack
 * trace, and never a secret lost without a word. Each command runs as a real process, on a data
 * directory a real `busbar serve` made.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SCHEMA_VERSION } from "../src/store/index.js";
import { BUSBAR_ENTRY, removeDataDir, runBusbar, startBusbar, type CliRun } from "./support/index.js";

const root = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "busbar-cli-data-dir-"));
/** A data directory `busbar serve` made (and stopped on). */
let made: string;

/** The environment of the runs: no endpoint, so that the commands work on the data directory. */
const { BUSBAR_ENDPOINT: _e, ...env } = process.env;

const busbar = (args: readonly string[], extra: Record<string, string> = {}): CliRun =>
  runBusbar(args, { env: { ...env, ...extra }, timeoutMs: 20_000 });

/** A copy of the data directory `serve` made, to damage. */
function copyOfMade(name: string): string {
  const copy = join(dir, name);
  cpSync(made, copy, { recursive: true });
  return copy;
}

/** Refused with exit code 2 and one line on standard error that matches `message`. */
function refused(r: CliRun, message: RegExp): void {
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

before(async () => {
  const server = await startBusbar();
  assert.equal(await server.stop(), 0);
  made = server.dataDir;
});
after(() => {
  removeDataDir(made);
  removeDataDir(dir);
});

describe("a data directory that cannot be opened", () => {
  it("is refused in one line naming the file and the reason, with exit code 2: not SQLite, a directory", () => {
    const random = join(dir, "random");
    mkdirSync(random);
    writeFileSync(join(random, "busbar.db"), Buffer.alloc(10_000, 0xa5));
    refused(busbar(["accounts", "list", "--data-dir", random]), /its busbar\.db is not a SQLite database/);

    const folder = join(dir, "folder");
    mkdirSync(join(folder, "busbar.db"), { recursive: true });
    refused(busbar(["keys", "list", "--data-dir", folder]), /its busbar\.db is a directory/);
  });

  it("is refused when the store cannot open it: damaged, or of a newer Busbar", () => {
    // SQLite's header intact, the pages after it overwritten: the store's open fails.
    const damaged = copyOfMade("damaged");
    const db = join(damaged, "busbar.db");
    const head = readFileSync(db);
    head.fill(0xff, 100, 4096);
    writeFileSync(db, head);
    refused(
      busbar(["accounts", "list", "--data-dir", damaged]),
      new RegExp(`cannot open ${db} as a Busbar database: database disk image is malformed`),
    );

    // Written by a newer Busbar (schema version 999, in the header's user_version at offset 60).
    const newer = copyOfMade("newer");
    const file = join(newer, "busbar.db");
    const bytes = readFileSync(file);
    bytes.writeUInt32BE(999, 60);
    writeFileSync(file, bytes);
    refused(
      busbar(["keys", "list", "--data-dir", newer]),
      new RegExp(`^error: The database ${file} has schema version 999 \\(written by a newer Busbar\\)`),
    );
  });

  it("is refused, not migrated, when an older Busbar wrote it: an older server may be running on it", () => {
    const older = copyOfMade("older");
    const file = join(older, "busbar.db");
    const set = (version: number): void => {
      const db = new Database(file);
      db.pragma(`user_version = ${version}`);
      db.close();
    };
    const previous = SCHEMA_VERSION - 1;
    set(previous);
    const before = readFileSync(file);
    refused(
      busbar(["keys", "list", "--data-dir", older]),
      new RegExp(
        `${file} has schema version ${previous}, from an older Busbar .*start \`busbar serve\` of this version`,
      ),
    );
    refused(
      busbar(["accounts", "create", "--data-dir", older]),
      new RegExp(`has schema version ${previous}`),
    );
    assert.deepEqual(readFileSync(file), before, "left as it was");
    set(SCHEMA_VERSION);
    assert.equal(busbar(["keys", "list", "--data-dir", older]).status, 0);
  });

  it("is refused when its busbar.db is empty or has no Busbar schema, and is left as it was", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    writeFileSync(join(empty, "busbar.db"), "");
    refused(
      busbar(["accounts", "create", "--data-dir", empty]),
      /is not a Busbar data directory \(its busbar\.db is empty\)/,
    );
    assert.equal(statSync(join(empty, "busbar.db")).size, 0);

    // A SQLite database, with no tables and no schema version.
    const bare = join(dir, "bare");
    mkdirSync(bare);
    const sqlite = new Database(join(bare, "busbar.db"));
    sqlite.exec("CREATE TABLE t (a); DROP TABLE t;");
    sqlite.close();
    const before = readFileSync(join(bare, "busbar.db"));
    refused(
      busbar(["accounts", "create", "--data-dir", bare]),
      /is not a Busbar data directory \(its busbar\.db has no Busbar schema\)/,
    );
    assert.deepEqual(readFileSync(join(bare, "busbar.db")), before);
  });

  it("is refused on a read-only file system in words that say so, not as a file to create", (t) => {
    const mounted = join(dir, "read-only");
    mkdirSync(mounted);
    // A read-only bind mount of the directory `serve` made (root may write any file whatever its mode).
    const mount = spawnSync("sh", [
      "-c",
      `mount --bind "$0" "$1" && mount -o remount,bind,ro "$1"`,
      made,
      mounted,
    ]);
    if (mount.status !== 0) {
      spawnSync("umount", [mounted]);
      t.skip(`SKIPPED: cannot make a read-only bind mount here (${mount.stderr.toString().trim()})`);
      return;
    }
    try {
      const db = join(mounted, "busbar.db");
      refused(
        busbar(["keys", "list", "--data-dir", mounted]),
        new RegExp(
          `cannot write ${db}: EROFS: read-only file system.*the store needs its data directory writable`,
        ),
      );
    } finally {
      spawnSync("umount", [mounted]);
    }
  });
});

describe("the settings of a data directory command", () => {
  it("are the data directory's and the region: a BUSBAR_PORT for the server does not matter", () => {
    const r = busbar(["accounts", "list", "--data-dir", made], { BUSBAR_PORT: "none" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("count an empty BUSBAR_DATA_DIR as unset, and refuse an empty --data-dir", () => {
    // Unset, the default ./busbar-data of the working directory; the working directory itself before.
    const unset = busbar(["keys", "list"], { BUSBAR_DATA_DIR: "" });
    assert.doesNotMatch(unset.stderr, new RegExp(`${root} is not a Busbar data directory`));
    if (unset.status !== 0) assert.match(unset.stderr, /busbar-data is not a Busbar data directory/);
    refused(busbar(["keys", "list", "--data-dir", ""]), /--data-dir must not be empty/);
  });

  it("make an account of the data directory's region, and refuse another region given", async () => {
    const server = await startBusbar({ env: { BUSBAR_REGION: "eu-west-1" } });
    assert.equal(await server.stop(), 0);
    try {
      const made = busbar(["accounts", "create", "--id", "222222222222", "--data-dir", server.dataDir], {
        BUSBAR_REGION: "",
      });
      assert.equal(made.status, 0, made.stderr);
      refused(
        busbar([
          "accounts",
          "create",
          "--id",
          "333333333333",
          "--region",
          "us-east-1",
          "--data-dir",
          server.dataDir,
        ]),
        /is of region eu-west-1 \(its buses' ARNs name it\), not us-east-1: give --region eu-west-1/,
      );
      refused(
        busbar(["accounts", "create", "--id", "333333333333", "--data-dir", server.dataDir], {
          BUSBAR_REGION: "us-east-1",
        }),
        /is of region eu-west-1/,
      );
      const sqlite = new Database(join(server.dataDir, "busbar.db"), { readonly: true });
      try {
        const buses = sqlite
          .prepare("SELECT account_id AS account, arn FROM buses ORDER BY account_id")
          .all();
        assert.deepEqual(buses, [
          { account: "000000000000", arn: "arn:aws:events:eu-west-1:000000000000:event-bus/default" },
          { account: "222222222222", arn: "arn:aws:events:eu-west-1:222222222222:event-bus/default" },
        ]);
      } finally {
        sqlite.close();
      }
    } finally {
      removeDataDir(server.dataDir);
    }
  });

  it("refuse an --account that is malformed or does not exist, as on a server", () => {
    refused(
      busbar(["keys", "list", "--account", "abc", "--data-dir", made]),
      /^error: --account must be 12 digits, got "abc"/,
    );
    // The same words on a data directory and towards a server (which is not called).
    for (const place of [
      ["--data-dir", made],
      ["--endpoint", "http://127.0.0.1:9"],
    ])
      refused(
        busbar(["accounts", "create", "--id", "12", ...place]),
        /^error: --id must be 12 digits, got "12"/,
      );
    refused(
      busbar(["keys", "list", "--account", "999999999999", "--data-dir", made]),
      /^error: account 999999999999 does not exist/,
    );
  });
});

describe("standard output that cannot be written", () => {
  it("is reported in one line naming the account or key that was made", () => {
    const full = openSync("/dev/full", "w");
    try {
      const run = (args: string[]) => {
        const r = spawnSync(process.execPath, [...BUSBAR_ENTRY, ...args], {
          cwd: root,
          env,
          encoding: "utf8",
          stdio: ["ignore", full, "pipe"],
          timeout: 20_000,
        });
        return { status: r.status, stderr: r.stderr };
      };
      const account = run(["accounts", "create", "--name", "lost", "--data-dir", made]);
      assert.equal(account.status, 1, account.stderr);
      const m =
        /^error: account (\d{12}), with root key (BB\w+), was created, but its secret could not be written to standard output \(ENOSPC[^)]*\) and is not shown again: delete the key \(busbar keys delete \2 --data-dir (\S+)\)/.exec(
          account.stderr,
        );
      assert.ok(m, account.stderr);
      assert.equal(m[3], made, "the way out names the data directory");
      assert.equal(account.stderr.trim().split("\n").length, 1, account.stderr);
      const key = run(["keys", "create", "--account", "000000000000", "--data-dir", made]);
      assert.equal(key.status, 1, key.stderr);
      assert.match(
        key.stderr,
        /^error: access key BB\w+ of account 000000000000 was created, but its secret could not be written/,
      );
      assert.equal(key.stderr.trim().split("\n").length, 1, key.stderr);
      // Help that could not be printed is a failure; test-pattern's answer is its exit code all the same.
      const help = run(["--help"]);
      assert.equal(help.status, 1, help.stderr);
      assert.match(help.stderr, /^error: could not write to standard output: ENOSPC/);
      const answered = run([
        "test-pattern",
        "--pattern",
        "examples/pattern.json",
        "--event",
        "examples/event.json",
      ]);
      assert.equal(answered.status, 0, answered.stderr);
      assert.match(answered.stderr, /could not write to standard output/);
    } finally {
      closeSync(full);
    }
  });

  it("closed by its reader (EPIPE) is one line, not a stack trace", async () => {
    const child = spawn(process.execPath, [...BUSBAR_ENTRY, "keys", "list", "--data-dir", made], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // The reader goes away before anything is written (`| head -c 0`).
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const status = await new Promise<number | null>((resolve) => child.once("close", resolve));
    assert.equal(status, 1, stderr);
    assert.match(stderr, /^error: could not write to standard output: .*EPIPE/);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  });
});
