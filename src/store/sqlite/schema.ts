/**
 * The SQLite schema, as an ordered list of migrations. The database's `user_version` pragma holds the
 * number of migrations applied; opening a database applies the missing ones in one transaction, and
 * refuses a database written by a newer Busbar.
 */
import type Database from "better-sqlite3";
import { StoreOpenError, UnsupportedSchemaVersionError } from "./errors.js";

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
 *
 * Queues (migration 2) are laid out for the hot path of send, receive and delete:
 * - A message is two rows: what it is (`queue_messages`: id, body, attributes…, written once) and where
 *   it stands (`queue_message_states`: visibility, receive count, expiry, group). A receive rewrites
 *   only the narrow state row, never the body, so that a commit writes few pages.
 * - Messages are keyed by `seq`, AUTOINCREMENT so that a deleted message's number is never given to
 *   a new one (a stale receipt handle must never reach another message).
 * - States are clustered by (queue, seq): a queue's messages in send order, with what receive, counts
 *   and expiry look at, in one narrow b-tree and without a secondary index. Message ids get no index:
 *   nothing looks a message up by id, and a random key would cost a page write per send. Queues are
 *   referred to by their integer id, and no foreign key is checked per row (a queue's messages are
 *   deleted explicitly with it).
 * - States with a group (FIFO) get a partial index by group, which answers "does this group have a
 *   message in flight" without scanning the queue.
 * - Deduplication records outlive the messages they name, so they have their own table.
 *
 * Connections, API destinations and secrets (migration 3) are configuration, keyed as buses are:
 * - Connections and API destinations by (account, name), WITHOUT ROWID, so that a listing of an account
 *   in name order reads one b-tree. Their filters (a connection's state, an API destination's
 *   connection ARN) are applied while reading an account's rows in name order: an account holds few, and
 *   an index per filter would cost every write for no gain. Nothing references them by foreign key: an
 *   API destination names its connection by ARN, which the caller checks.
 * - A connection's `auth_parameters` and a secret's `value` are text the caller encrypted; the store
 *   never reads them.
 * - Secrets are keyed by the caller's key alone.
 *
 * A queue's MessageRetentionPeriod changes apply to the messages already in it (migration 6): a
 * message expires at its state's `expires_at` plus its queue's `retention_shift_ms`, the sum of the
 * changes of the queue's retention since the message's expiry was written (a send writes the expiry
 * at the queue's retention of the moment less that sum). A change of retention is one row written,
 * however many messages wait, and the scans of receive, count and sweep compare `expires_at` with
 * `now` less the shift, computed once per call: no message row is rewritten, and a queue that has
 * never changed its retention (shift 0, every queue of an older database) reads as before. A change
 * also raises the queue's `retention_floor_ms` to what was expired at that moment (`now` less the
 * shift before it), and the scans compare with the later of the two (migration 8): a message once
 * expired stays so, though the sweep has not deleted it yet and the retention is raised again.
 *
 * Migration 3 adds no index on deliveries: walking the due deliveries page by page in (due_at,
 * event_seq, id) order is served by `deliveries_by_due_at`, whose entries (in a WITHOUT ROWID table)
 * end with the primary key, so that they are in that very order and a page seeks to its start.
 * Completing and rescheduling a delivery find it by its primary key, after one look-up of the event's
 * `seq` by `events.id`.
 */
export const MIGRATIONS: readonly Migration[] = [
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

  // 1 → 2: SQS-compatible queues.
  `
  CREATE TABLE queues (
    id                     INTEGER NOT NULL PRIMARY KEY, -- the rowid: what messages refer to
    account_id             TEXT    NOT NULL,
    name                   TEXT    NOT NULL,
    arn                    TEXT    NOT NULL,
    fifo                   INTEGER NOT NULL,
    attributes             TEXT    NOT NULL, -- JSON object of strings
    dead_letter_target_arn TEXT,
    created_at             INTEGER NOT NULL,
    last_modified_at       INTEGER NOT NULL,
    UNIQUE (account_id, name)
  ) STRICT;
  CREATE INDEX queues_by_dead_letter_target ON queues (dead_letter_target_arn, account_id, name)
    WHERE dead_letter_target_arn IS NOT NULL;

  CREATE TABLE queue_messages (
    seq                    INTEGER PRIMARY KEY AUTOINCREMENT, -- send order; never reused
    id                     TEXT    NOT NULL,
    sender_id              TEXT    NOT NULL,
    sent_at                INTEGER NOT NULL,
    deduplication_id       TEXT,
    dead_letter_source_arn TEXT,
    system_attributes      TEXT,
    attributes             TEXT,
    body                   TEXT    NOT NULL
  ) STRICT;

  CREATE TABLE queue_message_states (
    queue_id          INTEGER NOT NULL, -- queues.id
    seq               INTEGER NOT NULL, -- queue_messages.seq
    visible_at        INTEGER NOT NULL,
    receive_count     INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    group_id          TEXT,
    first_received_at INTEGER,
    last_received_at  INTEGER,
    PRIMARY KEY (queue_id, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX queue_message_states_by_group
    ON queue_message_states (queue_id, group_id, visible_at, receive_count) WHERE group_id IS NOT NULL;

  CREATE TABLE queue_deduplication (
    queue_id    INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    message_seq INTEGER NOT NULL, -- the original's seq, which gives its sequence number
    until       INTEGER NOT NULL,
    PRIMARY KEY (queue_id, key)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE queue_move_tasks (
    seq             INTEGER NOT NULL PRIMARY KEY, -- the rowid: insertion order
    id              TEXT    NOT NULL UNIQUE,
    source_arn      TEXT    NOT NULL,
    destination_arn TEXT,
    max_per_second  REAL,
    status          TEXT    NOT NULL,
    moved           INTEGER NOT NULL,
    to_move         INTEGER NOT NULL,
    failure_reason  TEXT,
    started_at      INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX queue_move_tasks_by_source ON queue_move_tasks (source_arn, started_at);
  `,

  // 2 → 3: connections, API destinations and secrets.
  `
  CREATE TABLE connections (
    account_id         TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    arn                TEXT    NOT NULL,
    description        TEXT,
    authorization_type TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    state_reason       TEXT,
    auth_parameters    TEXT    NOT NULL, -- encrypted by the caller; opaque
    created_at         INTEGER NOT NULL,
    last_modified_at   INTEGER NOT NULL,
    last_authorized_at INTEGER,
    PRIMARY KEY (account_id, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE api_destinations (
    account_id                       TEXT    NOT NULL,
    name                             TEXT    NOT NULL,
    arn                              TEXT    NOT NULL,
    description                      TEXT,
    connection_arn                   TEXT    NOT NULL,
    invocation_endpoint              TEXT    NOT NULL,
    http_method                      TEXT    NOT NULL,
    invocation_rate_limit_per_second REAL    NOT NULL,
    state                            TEXT    NOT NULL,
    created_at                       INTEGER NOT NULL,
    last_modified_at                 INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE secrets (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL -- encrypted by the caller; opaque
  ) STRICT, WITHOUT ROWID;
  `,

  // 3 → 4: the body's MD5, computed once at send.
  `
  ALTER TABLE queue_messages ADD COLUMN body_md5 TEXT;
  `,

  // 4 → 5: a bus's LogConfig (JSON text), kept and described.
  `
  ALTER TABLE buses ADD COLUMN log_config TEXT;
  `,

  // 5 → 6: a queue's MessageRetentionPeriod changes apply to the messages already in it.
  `
  ALTER TABLE queues ADD COLUMN retention_shift_ms INTEGER NOT NULL DEFAULT 0;
  `,

  // 6 → 7: a standard queue's receive finds its visible messages by the time they became visible,
  // without reading past the invisible ones (delayed, or in flight) in send order.
  `
  CREATE INDEX queue_message_states_by_visibility ON queue_message_states (queue_id, visible_at, seq);
  `,

  // 7 → 8: a FIFO receive's checks of a group (a message of it in flight? one visible?) leave out
  // expired messages, from the index alone: with the expiry in it, they read no row of the table.
  // And a queue's retention floor: the messages expired when its attributes last changed stay
  // expired, whatever the retention becomes (a lowered one raised again brought them back).
  `
  ALTER TABLE queues ADD COLUMN retention_floor_ms INTEGER NOT NULL DEFAULT ${Number.MIN_SAFE_INTEGER};
  DROP INDEX queue_message_states_by_group;
  CREATE INDEX queue_message_states_by_group
    ON queue_message_states (queue_id, group_id, visible_at, receive_count, expires_at)
    WHERE group_id IS NOT NULL;
  `,

  // 8 → 9: the retention floor for the databases that need it. Migration 8 gained the column after
  // it was first committed (175880a), so the builds of 8d00d08…8a9615b wrote a version 8 without
  // it, which no build could open after: the column is added where it is missing. And the new
  // version makes those builds refuse a database this one has opened, as any older build does.
  (db) => {
    const columns = db.prepare("SELECT name FROM pragma_table_info('queues')").pluck().all() as string[];
    if (!columns.includes("retention_floor_ms"))
      db.exec(
        `ALTER TABLE queues ADD COLUMN retention_floor_ms INTEGER NOT NULL DEFAULT ${Number.MIN_SAFE_INTEGER}`,
      );
  },
];

/** A migration: SQL to run, or a function for one that depends on what the database holds. */
export type Migration = string | ((db: Database.Database) => void);

/** Applies one migration to `db`. */
export function applyMigration(db: Database.Database, migration: Migration): void {
  if (typeof migration === "string") db.exec(migration);
  else migration(db);
}

/** The schema version this build writes: the number of migrations. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Reads the schema version (`user_version`) of a database. */
export function schemaVersion(db: Database.Database): number {
  const version = db.pragma("user_version", { simple: true });
  return typeof version === "number" ? version : 0;
}

/**
 * A database with no schema version must be empty: tables in it mean another program's database
 * (or a file of ours whose header was lost), which the first migration would add Busbar's tables to.
 */
function refuseForeignTables(db: Database.Database): void {
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .pluck()
    .all() as string[];
  if (tables.length === 0) return;
  const shown = tables.slice(0, 5).join(", ") + (tables.length > 5 ? ", …" : "");
  // The store's opener names the file: "cannot open <path> as a Busbar database: …".
  throw new Error(`it has no Busbar schema version but holds ${tables.length} other table(s) (${shown})`);
}

/**
 * Brings a database to {@link SCHEMA_VERSION}, applying the missing migrations and the new
 * `user_version` in one immediate transaction.
 * @param file the database file, for the error's message (default: the path `db` was opened with).
 * @param options.upgrade false: only check that the database is at {@link SCHEMA_VERSION}, and refuse
 *   an older one (StoreOpenError) instead of migrating it.
 * @throws {UnsupportedSchemaVersionError} when the database is newer than this build, naming `file`.
 */
export function migrate(
  db: Database.Database,
  file: string = db.name,
  options: { readonly upgrade?: boolean } = {},
): void {
  if (options.upgrade === false) {
    const at = schemaVersion(db);
    if (at > SCHEMA_VERSION) throw new UnsupportedSchemaVersionError(at, SCHEMA_VERSION, file);
    if (at < SCHEMA_VERSION) {
      throw new StoreOpenError(
        `${file} has schema version ${at}, from an older Busbar (this one writes ${SCHEMA_VERSION}); ` +
          "start `busbar serve` of this version on it to upgrade it (the accounts and keys commands do not, " +
          "so that they never change a database under an older running server)",
      );
    }
    return;
  }
  const apply = db.transaction(() => {
    const from = schemaVersion(db);
    if (from > SCHEMA_VERSION) throw new UnsupportedSchemaVersionError(from, SCHEMA_VERSION, file);
    if (from === 0) refuseForeignTables(db);
    for (const migration of MIGRATIONS.slice(from)) applyMigration(db, migration);
    if (from !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  apply.immediate();
}
