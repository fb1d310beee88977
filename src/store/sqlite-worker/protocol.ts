/**
 * Messages between the store proxy and its worker thread.
 */

/** A call of a store method. */
export interface CallMessage {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** An error as it crosses the thread boundary: its name, message and AWS shape. */
export interface ErrorShape {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly awsType?: string;
  readonly httpStatus?: number;
  readonly retryable?: boolean;
}

/** The reply to a call. */
export type ReplyMessage =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: ErrorShape };

/** What the worker is started with. */
export interface WorkerData {
  readonly dataDir: string;
  readonly fileName?: string;
}
