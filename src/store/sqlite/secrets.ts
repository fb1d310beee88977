/**
 * Secrets by key: opaque text (encrypted by the caller, such as a webhook target's signing secrets)
 * that the store keeps and never reads.
 */
import type Database from "better-sqlite3";

/** Builds the secret operations, preparing their statements. */
export function prepareSecretOperations(db: Database.Database) {
  const upsert = db.prepare<[key: string, value: string]>(
    `INSERT INTO secrets (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
  const select = db.prepare<[string], string>(`SELECT value FROM secrets WHERE key = ?`).pluck();
  const remove = db.prepare<[string]>(`DELETE FROM secrets WHERE key = ?`);

  return {
    /** Creates or replaces the secret of `key`. */
    put(key: string, value: string): void {
      upsert.run(key, value);
    },

    get(key: string): string | undefined {
      return select.get(key);
    },

    /** Deletes the secret of `key`; false when there was none. */
    delete(key: string): boolean {
      return remove.run(key).changes > 0;
    },
  };
}

/** The secret operations of a store. */
export type SecretOperations = ReturnType<typeof prepareSecretOperations>;
