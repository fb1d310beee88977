/**
 * The SQLite schema, as an ordered list of migrations. The database's `user_version` pragma holds the
 * number of migrations applied; opening a database applies the missing ones in one transaction, and
 * refuses a database written by a newer Busbar.
 */
import type Database from "better-sqlite3";
import { UnsupportedSchemaVersionError } from "./errors.js";

/**
 * Migrations in order; migration `i` takes the schema from version `i` to `i + 1`. Never edit a
 * released migration: append a new one.
 *
 * Tables are STRICT. Configuration cascades through foreign keys (bus → rules → targets); tags are
 * keyed by ARN and deleted explicitly.
 *
 * The event log is laid out for appends. Event and delivery ids are random UUIDs, and every index on
 * a random key costs a page write per row at each commit, so only `events.id` (needed by `getEvent`
 * and to refuse duplicates) is one: events are stored in append order (`seq`), and deliveries are
 * keyed by their event's `seq`, so that their b-trees (and `ingested_at`, `due_at`) grow at the end.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE access_keys (
    access_key_id     TEXT    NOT NULL PRIMARY KEY,
    secret_access_key TEXT    NOT NULL,
    account_id        TEXT    NOT NULL,
    root              INTEGER NOT NULL,
    policies          TEXT    NOT NULL, -- JSON array of policy documents (JSON text)
    created_at        INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX access_keys_by_account ON access_keys (account_id, access_key_id);

  CREATE TABLE buses (
    account_id         TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    arn                TEXT    NOT NULL,
    description        TEXT,
    kms_key_identifier TEXT,
    dead_letter_arn    TEXT,
    policy             TEXT,
    created_at         INTEGER NOT NULL,
    last_modified_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE rules (
    account_id          TEXT    NOT NULL,
    bus_name            TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    arn                 TEXT    NOT NULL,
    event_pattern       TEXT,
    schedule_expression TEXT,
    state               TEXT    NOT NULL,
    description         TEXT,
    role_arn            TEXT,
    managed_by          TEXT,
    created_by          TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    last_modified_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, bus_name, name),
    FOREIGN KEY (account_id, bus_name) REFERENCES buses (account_id, name) ON DELETE CASCADE
  ) STRICT;

  CREATE TABLE targets (
    account_id TEXT NOT NULL,
    bus_name   TEXT NOT NULL,
    rule_name  TEXT NOT NULL,
    id         TEXT NOT NULL,
    arn        TEXT NOT NULL,
    spec       TEXT NOT NULL, -- JSON of the whole AWS Target structure
    PRIMARY KEY (account_id, bus_name, rule_name, id),
    FOREIGN KEY (account_id, bus_name, rule_name)
      REFERENCES rules (account_id, bus_name, name) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX targets_by_arn ON targets (account_id, bus_name, arn, rule_name);

  CREATE TABLE tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE events (
    seq         INTEGER NOT NULL PRIMARY KEY, -- the rowid: append order
    id          TEXT    NOT NULL UNIQUE,
    account_id  TEXT    NOT NULL,
    bus_name    TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    json        TEXT    NOT NULL
  ) STRICT;
  CREATE INDEX events_by_ingested_at ON events (ingested_at);

  CREATE TABLE deliveries (
    event_seq  INTEGER NOT NULL, -- events.seq of the event
    id         TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    bus_name   TEXT    NOT NULL,
    rule_name  TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    due_at     INTEGER NOT NULL,
    attempts   INTEGER NOT NULL,
    PRIMARY KEY (event_seq, id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX deliveries_by_due_at ON deliveries (due_at);
  `,
];

/** The schema version this build writes: the number of migrations. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Reads the schema version (`user_version`) of a database. */
export function schemaVersion(db: Database.Database): number {
  const version = db.pragma("user_version", { simple: true });
  return typeof version === "number" ? version : 0;
}

/**
 * Brings a database to {@link SCHEMA_VERSION}, applying the missing migrations and the new
 * `user_version` in one immediate transaction.
 * @throws {UnsupportedSchemaVersionError} when the database is newer than this build.
 */
export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const from = schemaVersion(db);
    if (from > SCHEMA_VERSION) throw new UnsupportedSchemaVersionError(from, SCHEMA_VERSION);
    for (const migration of MIGRATIONS.slice(from)) db.exec(migration);
    if (from !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  apply.immediate();
}
