/**
 * The conformance suite of the {@link Store} contract, written once and run against every
 * implementation (the embedded SQLite store, the NATS JetStream store). It tests only what the contract
 * in src/store/types.ts promises, never how a store keeps its data.
 *
 * Beyond the JSDoc of the contract, it expects what the list operations of the EventBridge API need:
 * pages in name order of at most `limit` items (default and maximum 100), a `nextToken` exactly when
 * more items follow the page, `prefix` taken literally (no wildcards), and an unissued `nextToken`
 * rejected with an error named `InvalidNextTokenError`. Queue, connection and API destination listings
 * page the same way (`listDeadLetterSourceQueues` in account and name order), their filters applied
 * before paging.
 */
import { describe } from "node:test";
import {
  accountsAndKeysTests,
  busTests,
  connectionTests,
  deliveryTests,
  durabilityTests,
  eventTests,
  queueMessageTests,
  queueMoveTests,
  queueTests,
  ruleTests,
  secretTests,
  tagTests,
  targetTests,
  type StoreUnderTest,
} from "./store-conformance/index.js";

export type { StoreUnderTest } from "./store-conformance/index.js";

/**
 * Registers the conformance tests of the {@link Store} contract under `describe(name)`. `open` is
 * called once per test and must give a store on fresh, empty storage.
 */
export function storeConformance(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(name, () => {
    accountsAndKeysTests(open);
    busTests(open);
    ruleTests(open);
    targetTests(open);
    tagTests(open);
    eventTests(open);
    deliveryTests(open);
    queueTests(open);
    queueMessageTests(open);
    queueMoveTests(open);
    connectionTests(open);
    secretTests(open);
    durabilityTests(open);
  });
}
