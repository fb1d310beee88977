/**
 * The bytes of messages that receives may be taking from the store at once, and of replies their clients
 * have not taken yet. A receive reserves room for the largest answer it could get before it asks the
 * store, and gives it back once it has its messages; the HTTP layer holds, beside, what of each reply
 * the system's socket buffers did not take, until it is written or its connection closed (it closes
 * those that fall behind while a receive waits here). A receive that does not fit waits its turn (one
 * alone always goes): the accounts waiting take turns, and each account's receives go in the order they
 * came, so that one account's flood of receives delays another's by a receive of its own, not by all of
 * them. Every receive in the store's group is read, copied between
 * threads and turned into its reply together: 1,500 connections each asking at once for ten 250 KB
 * messages, reading nothing, had the server hold gigabytes of them and spend its time collecting garbage.
 */
export class ReceiveRoom {
  #taken = 0;
  /** The receives waiting, by account, in the order the accounts take their turns. */
  readonly #lanes = new Map<string, { readonly bytes: number; readonly go: () => void }[]>();
  #heard: ((wanted: boolean) => void) | undefined;

  constructor(readonly max: number) {}

  #fits(bytes: number): boolean {
    return this.#taken === 0 || this.#taken + bytes <= this.max;
  }

  /** Takes `bytes` now if they fit and none waits; false when the caller must wait ({@link wait}). */
  take(bytes: number): boolean {
    if (this.#lanes.size > 0 || !this.#fits(bytes)) return false;
    this.#taken += bytes;
    return true;
  }

  /**
   * Takes `bytes` for a receive of `account` in turn, once they fit: true then; false, without them,
   * when `signal` aborts first (its client went away, or the HTTP layer ended its wait to make room
   * for a new connection).
   */
  wait(bytes: number, account: string, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve(false);
      const gaveUp = (): void => {
        const lane = this.#lanes.get(account);
        const at = lane?.indexOf(waiter) ?? -1;
        if (lane === undefined || at === -1) return; // let in meanwhile
        lane.splice(at, 1);
        if (lane.length === 0) this.#lanes.delete(account);
        resolve(false);
        // Those behind it may fit now.
        this.#letIn(true);
      };
      const waiter = {
        bytes,
        go: () => {
          signal?.removeEventListener("abort", gaveUp);
          resolve(true);
        },
      };
      signal?.addEventListener("abort", gaveUp, { once: true });
      const wanted = this.#lanes.size > 0;
      const lane = this.#lanes.get(account);
      if (lane === undefined) this.#lanes.set(account, [waiter]);
      else lane.push(waiter);
      if (!wanted) this.#heard?.(true);
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
    return this.#lanes.size > 0;
  }

  /** Gives back `bytes` taken or held, and lets in those waiting that now fit, in turn. */
  give(bytes: number): void {
    this.#taken -= bytes;
    this.#letIn(this.#lanes.size > 0);
  }

  /** Lets in those waiting that fit, in turn; `waited`: whether any waited before. */
  #letIn(waited: boolean): void {
    for (const [account, lane] of this.#lanes) {
      const next = lane[0];
      if (next === undefined || !this.#fits(next.bytes)) break;
      lane.shift();
      // Its account's turn is over: the next of its receives waits behind the other accounts'.
      this.#lanes.delete(account);
      if (lane.length > 0) this.#lanes.set(account, lane);
      this.#taken += next.bytes;
      next.go();
    }
    if (waited && this.#lanes.size === 0) this.#heard?.(false);
  }
}
