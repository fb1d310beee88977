/**
 * The bound of the delivery's small in-memory caches (parsed webhook targets, signing keys, OAuth
 * tokens): keyed by things that come and go (targets, secrets, connections) without the cache being
 * told, they keep at most {@link CACHE_ENTRIES}, the oldest forgotten first.
 */

/** Most entries each cache holds. */
export const CACHE_ENTRIES = 4_096;

/** Adds an entry to a cache of at most {@link CACHE_ENTRIES}, forgetting the oldest. */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  if (cache.size >= CACHE_ENTRIES && !cache.has(key)) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
}
