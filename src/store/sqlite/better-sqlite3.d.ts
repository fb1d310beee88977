/**
 * Minimal type declarations for better-sqlite3 12.x, which ships no types of its own. They cover only
 * what the SQLite store uses, so that the project needs no `@types/better-sqlite3` dependency; they
 * follow the library's documented API (https://github.com/WiseLibs/better-sqlite3/blob/master/docs/api.md).
 * Nothing outside `src/store/sqlite/` may import this module.
 */
declare module "better-sqlite3" {
  namespace BetterSqlite3 {
    /** What `Statement#run` reports. */
    interface RunResult {
      /** Rows inserted, updated or deleted by the statement (not counting foreign-key actions). */
      changes: number;
      lastInsertRowid: number | bigint;
    }

    /** A prepared statement; `P` is the tuple of bind arguments, `R` the row type it reads. */
    interface Statement<P extends unknown[] = unknown[], R = unknown> {
      readonly source: string;
      readonly reader: boolean;
      run(...params: P): RunResult;
      get(...params: P): R | undefined;
      all(...params: P): R[];
      iterate(...params: P): IterableIterator<R>;
      /**
       * Rows as arrays of column values instead of objects (faster: no property per column); declare
       * `R` as the tuple of the selected columns.
       */
      raw(toggle?: boolean): this;
      /** Only the first column of each row; declare `R` as its type. */
      pluck(toggle?: boolean): this;
    }

    /** A function wrapped by `Database#transaction`: BEGIN, the function, then COMMIT or ROLLBACK. */
    interface Transaction<F extends (...args: never[]) => unknown> {
      (...args: Parameters<F>): ReturnType<F>;
      readonly default: Transaction<F>;
      readonly deferred: Transaction<F>;
      readonly immediate: Transaction<F>;
      readonly exclusive: Transaction<F>;
    }

    /** Options of the constructor. */
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** Busy timeout in milliseconds (default 5000). */
      timeout?: number;
    }

    /** Options of `Database#pragma`. */
    interface PragmaOptions {
      /** Return the first column of the first row instead of all rows. */
      simple?: boolean;
    }

    /** An open database connection. */
    interface Database {
      readonly open: boolean;
      readonly inTransaction: boolean;
      readonly name: string;
      prepare<P extends unknown[] = unknown[], R = unknown>(source: string): Statement<P, R>;
      transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
      exec(source: string): this;
      pragma(source: string, options?: PragmaOptions): unknown;
      close(): this;
    }

    /** The error the driver throws for SQLite failures; `code` is the extended result code name. */
    interface SqliteError extends Error {
      readonly code: string;
    }

    /** The module's export: the Database constructor, callable with or without `new`. */
    interface DatabaseConstructor {
      new (filename: string, options?: Options): Database;
      (filename: string, options?: Options): Database;
      readonly SqliteError: new (message: string, code: string) => SqliteError;
    }
  }

  const BetterSqlite3: BetterSqlite3.DatabaseConstructor;
  export = BetterSqlite3;
}
