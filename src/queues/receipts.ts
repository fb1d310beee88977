/**
 * Receipt handles: what ReceiveMessage hands out and DeleteMessage and ChangeMessageVisibility take
 * back. A handle names the queue, the message's position in the store and which receive it came from,
 * and carries a MAC, so that a string the server never issued is told apart from a stale handle (SQS
 * answers the first with ReceiptHandleIsInvalid and accepts the second).
 *
 * The MAC is SHA-256 over a 256-bit secret followed by the payload, cut to 96 bits: one hash call per
 * handle, against HMAC's two passes and a keyed object per call. Two handles are made and read per
 * message that is received and deleted, and that difference was 4.6 µs of the 7.4 µs it cost
 * (docs/benchmarks.md, thirteenth session). A prefix MAC over SHA-256 is open to length extension only
 * when the whole digest is known; 96 of its 256 bits are given out. Handles of the earlier HMAC form
 * (v1, before this change) are still read, so that messages received before an upgrade can be deleted.
 * So are handles made with an earlier key the codec is given (the root secret, which keyed handles
 * until the node had a receipt key of its own).
 */
import { createHmac, hash, timingSafeEqual } from "node:crypto";
import type { QueueRef, ReceiptRef } from "../store/index.js";
import { QueueError, clip } from "./errors/index.js";

/** A handle, decoded. */
export interface Receipt extends ReceiptRef {
  readonly accountId: string;
  readonly queueName: string;
}

/** 96 bits of MAC, in base64url. */
const MAC_CHARS = 16;
const PAYLOAD = /^(\d{1,16})\.(\d{1,9})\.(\d{12})\.(.+)$/;

/** The MAC's secret prefix: 256 bits derived from a key, in hex. */
const prefixOf = (key: string | Buffer): string =>
  createHmac("sha256", key).update("busbar receipt handles v2").digest("hex");

/** Issues and reads receipt handles with a key of the node (stable across restarts). */
export class ReceiptCodec {
  readonly #prefix: string;
  /** The keys of the earlier, HMAC form (v1), to read its handles. */
  readonly #v1Keys: readonly Buffer[];
  /** Prefixes of earlier keys, whose handles are still read. */
  readonly #earlier: readonly string[];

  /**
   * @param key what new handles are made with.
   * @param earlierKeys keys handles were made with before, still read (not made).
   */
  constructor(key: string | Buffer, earlierKeys: ReadonlyArray<string | Buffer> = []) {
    this.#prefix = prefixOf(key);
    this.#earlier = earlierKeys.map(prefixOf);
    this.#v1Keys = [key, ...earlierKeys].map((k) =>
      createHmac("sha256", k).update("busbar receipt handles v1").digest(),
    );
  }

  /** The handle of one receive of a message. */
  encode(queue: QueueRef, ref: ReceiptRef): string {
    const payload = `${ref.seq}.${ref.receiveCount}.${queue.accountId}.${queue.name}`;
    return `${Buffer.from(payload, "latin1").toString("base64url")}.${this.#mac(payload)}`;
  }

  /**
   * Reads a handle given for `queue`.
   * @throws QueueError ReceiptHandleIsInvalid for a string that is not a handle, or a handle of another queue.
   */
  decode(queue: QueueRef, handle: string): Receipt {
    const invalid = (): QueueError =>
      new QueueError(
        "ReceiptHandleIsInvalid",
        `The input receipt handle "${clip(handle)}" is not a valid receipt handle.`,
      );
    const dot = handle.indexOf(".");
    if (dot <= 0 || handle.length - dot - 1 !== MAC_CHARS || handle.length > 1024) throw invalid();
    const payload = Buffer.from(handle.slice(0, dot), "base64url").toString("latin1");
    const mac = Buffer.from(handle.slice(dot + 1), "latin1");
    if (!timingSafeEqual(mac, Buffer.from(this.#mac(payload), "latin1")) && !this.#isEarlier(payload, mac)) {
      throw invalid();
    }
    const m = PAYLOAD.exec(payload);
    if (m === null) throw invalid();
    const receipt = {
      seq: Number(m[1]),
      receiveCount: Number(m[2]),
      accountId: m[3] as string,
      queueName: m[4] as string,
    };
    if (receipt.accountId !== queue.accountId || receipt.queueName !== queue.name) {
      throw new QueueError(
        "ReceiptHandleIsInvalid",
        `The receipt handle "${clip(handle)}" is not valid for this queue.`,
      );
    }
    return receipt;
  }

  #mac(payload: string, prefix = this.#prefix): string {
    return hash("sha256", prefix + payload, "base64url").slice(0, MAC_CHARS);
  }

  /**
   * Whether `mac` is a MAC of `payload` made with an earlier key, or of the v1 form (HMAC-SHA256, its
   * first 12 bytes in base64url) with any key.
   */
  #isEarlier(payload: string, mac: Buffer): boolean {
    for (const prefix of this.#earlier) {
      if (timingSafeEqual(mac, Buffer.from(this.#mac(payload, prefix), "latin1"))) return true;
    }
    return this.#v1Keys.some((key) => {
      const v1 = createHmac("sha256", key).update(payload, "latin1").digest().subarray(0, 12);
      return timingSafeEqual(mac, Buffer.from(v1.toString("base64url"), "latin1"));
    });
  }
}
