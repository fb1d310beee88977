/**
 * Receipt handles: what ReceiveMessage hands out and DeleteMessage and ChangeMessageVisibility take
 * back. A handle names the queue, the message's position in the store and which receive it came from,
 * and carries a MAC, so that a string the server never issued is told apart from a stale handle (SQS
 * answers the first with ReceiptHandleIsInvalid and accepts the second).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { QueueRef, ReceiptRef } from "../store/index.js";
import { QueueError, clip } from "./errors/index.js";

/** A handle, decoded. */
export interface Receipt extends ReceiptRef {
  readonly accountId: string;
  readonly queueName: string;
}

const MAC_BYTES = 12;

/** Issues and reads receipt handles with a key of the node (stable across restarts). */
export class ReceiptCodec {
  readonly #key: Buffer;

  constructor(key: string | Buffer) {
    this.#key = createHmac("sha256", key).update("busbar receipt handles v1").digest();
  }

  /** The handle of one receive of a message. */
  encode(queue: QueueRef, ref: ReceiptRef): string {
    const payload = Buffer.from(`${ref.seq}.${ref.receiveCount}.${queue.accountId}.${queue.name}`, "utf8");
    return `${payload.toString("base64url")}.${this.mac(payload).toString("base64url")}`;
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
    if (dot <= 0 || handle.length > 1024) throw invalid();
    const payload = Buffer.from(handle.slice(0, dot), "base64url");
    const mac = Buffer.from(handle.slice(dot + 1), "base64url");
    const expected = this.mac(payload);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw invalid();
    const m = /^(\d{1,16})\.(\d{1,9})\.(\d{12})\.(.+)$/.exec(payload.toString("utf8"));
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

  private mac(payload: Buffer): Buffer {
    return createHmac("sha256", this.#key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}
