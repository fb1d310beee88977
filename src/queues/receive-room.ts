/**
 * The bytes of messages that receives may be taking from the store at once, and of replies their clients
 * have not taken yet. A receive reserves room for the largest answer it could get before it asks the
 * store, and gives it back once it has its messages; the HTTP layer holds, beside, what of each reply
 * the system's socket buffers did not take, until it is written or its connection closed (it closes
 * those that fall behind while a receive waits here). A receive that does not fit waits its turn, first
 * come first served (one alone always goes). Every receive in the store's group is read, copied between
 * threads and turned into its reply together: 1,500 connections each asking at once for ten 250 KB
 * messages, reading nothing, had the server hold gigabytes of them and spend its time collecting garbage.
 */
export class ReceiveRoom {
  #taken = 0;
  readonly #waiting: { readonly bytes: number; readonly go: () => void }[] = [];
  #heard: ((wanted: boolean) => void) | undefined;

  constructor(readonly max: number) {}

  #fits(bytes: number): boolean {
    return this.#taken === 0 || this.#taken + bytes <= this.max;
  }

  /** Takes `bytes` now if they fit and none waits; false when the caller must wait ({@link wait}). */
  take(bytes: number): boolean {
    if (this.#waiting.length > 0 || !this.#fits(bytes)) return false;
    this.#taken += bytes;
    return true;
  }

  /** Takes `bytes` in turn, once they fit. */
  wait(bytes: number): Promise<void> {
    return new Promise((go) => {
      this.#waiting.push({ bytes, go });
      if (this.#waiting.length === 1) this.#heard?.(true);
    });
  }

  /** Hears when receives begin to wait and when none is left waiting (another thread's HTTP layer). */
  onWanted(heard: (wanted: boolean) => void): void {
    this.#heard = heard;
  }

  /** Holds `bytes` already taken elsewhere (a reply's unsent rest), fit or not. */
  hold(bytes: number): void {
    this.#taken += bytes;
  }

  /** Whether a receive waits for room. */
  wanted(): boolean {
    return this.#waiting.length > 0;
  }

  /** Gives back `bytes` taken or held, and lets in those waiting that now fit, in turn. */
  give(bytes: number): void {
    this.#taken -= bytes;
    const waited = this.#waiting.length > 0;
    for (let w = this.#waiting[0]; w !== undefined && this.#fits(w.bytes); w = this.#waiting[0]) {
      this.#waiting.shift();
      this.#taken += w.bytes;
      w.go();
    }
    if (waited && this.#waiting.length === 0) this.#heard?.(false);
  }
}
