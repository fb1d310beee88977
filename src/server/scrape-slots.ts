/**
 * How many scrapes of `/metrics` with access keys' credentials a node serves at once.
 */

/** Scrapes of `/metrics` with one access key's credentials at once (past it: 429, Retry-After). */
export const MAX_SCRAPES_PER_KEY = 2;
/** Scrapes with any access key's credentials at once. */
export const MAX_KEYED_SCRAPES = 16;

/**
 * The scrapes with access keys' credentials under way (from their arrival until their replies close): a
 * scrape's text is held whole until its client has read it (8 MB for an account of a thousand
 * targets), so that any account's key could otherwise have a node hold gigabytes by asking and never
 * reading.
 */
export class ScrapeSlots {
  readonly #byKey = new Map<string, number>();
  #all = 0;

  take(key: string): boolean {
    const held = this.#byKey.get(key) ?? 0;
    if (held >= MAX_SCRAPES_PER_KEY || this.#all >= MAX_KEYED_SCRAPES) return false;
    this.#byKey.set(key, held + 1);
    this.#all++;
    return true;
  }

  give(key: string): void {
    const held = this.#byKey.get(key) ?? 0;
    if (held <= 1) this.#byKey.delete(key);
    else this.#byKey.set(key, held - 1);
    this.#all--;
  }
}
