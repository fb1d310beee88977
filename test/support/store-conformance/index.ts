/**
 * The parts of the `Store` conformance suite: one registrar per area of the contract, each
 * given the same `open` function, plus the shape of an implementation under test.
 */
export { accountsAndKeysTests } from "./accounts-and-keys.js";
export { busTests } from "./buses.js";
export { connectionTests } from "./connections.js";
export { deliveryTests } from "./deliveries.js";
export { durabilityTests } from "./durability.js";
export { eventTests } from "./events.js";
export { ruleTests } from "./rules.js";
export { queueMessageTests } from "./queue-messages.js";
export { queueMoveTests } from "./queue-moves.js";
export { queueTests } from "./queues.js";
export { secretTests } from "./secrets.js";
export { type OpenStore, type StoreUnderTest } from "./session.js";
export { tagTests } from "./tags.js";
export { targetTests } from "./targets.js";
