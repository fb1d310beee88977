/**
 * How the conformance suite runs one test: open fresh storage, hand the body a {@link Session}, and
 * always close the store and remove the storage afterwards.
 */
import { it } from "node:test";
import type { Store } from "../../../src/store/index.js";

/** An implementation under test, opened on fresh, empty storage. */
export interface StoreUnderTest {
  readonly store: Store;
  /**
   * Opens the same storage again, after the suite has closed `store`. Without it the durability tests
   * are skipped.
   */
  readonly reopen?: () => Promise<Store>;
  /** Removes the storage; called after the suite has closed the last store it opened. */
  readonly cleanup: () => Promise<void>;
}

/** Opens an implementation on fresh, empty storage; called once per test. */
export type OpenStore = () => Promise<StoreUnderTest>;

/** What a test body gets: the open store, and a way to close and reopen it. */
export interface Session {
  readonly store: Store;
  /** Closes the store and opens its storage again; returns (and becomes) the new store. */
  reopen(): Promise<Store>;
}

/**
 * Registers one test. With `needsReopen`, the test is skipped when the implementation cannot reopen
 * its storage.
 */
export type StoreTest = (
  title: string,
  body: (session: Session) => Promise<void>,
  needsReopen?: boolean,
) => void;

/**
 * Gives the function that registers a conformance test with `it`: each test opens fresh storage with
 * `open`, runs its body on a {@link Session}, then closes the store and cleans the storage up.
 */
export function sessionTest(open: OpenStore): StoreTest {
  return function test(title: string, body: (session: Session) => Promise<void>, needsReopen = false): void {
    it(title, async (t) => {
      const opened = await open();
      let current = opened.store;
      try {
        if (needsReopen && opened.reopen === undefined) {
          t.skip("the implementation cannot reopen its storage");
          return;
        }
        const session: Session = {
          get store() {
            return current;
          },
          async reopen() {
            if (opened.reopen === undefined) throw new Error("reopen is not supported");
            await current.close();
            current = await opened.reopen();
            return current;
          },
        };
        await body(session);
      } finally {
        await current.close();
        await opened.cleanup();
      }
    });
  };
}
