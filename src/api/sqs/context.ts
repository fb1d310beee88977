/**
 * What every SQS operation is given: the caller, the queue service, the move tasks, and the base URL
 * queue URLs are built on.
 */
import type { MoveTasks, QueueService } from "../../queues/index.js";
import type { Input } from "../input.js";
import type { ClientPresence } from "../protocol.js";

/** The authenticated caller, as SQS operations need it. */
export interface SqsCaller {
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly root: boolean;
  /** Whether the caller may perform `action` on a resource of `ownerAccountId` with resource `policy`. */
  allowedOn(action: string, resource: string, ownerAccountId: string, policy: string | undefined): boolean;
}

/** The surroundings of an SQS operation. */
export interface SqsContext {
  readonly caller: SqsCaller;
  readonly queues: QueueService;
  readonly moveTasks: MoveTasks;
  readonly region: string;
  /** `http://<host>:<port>` as the client addressed the server; queue URLs are `<base>/<account>/<name>`. */
  readonly baseUrl: string;
  /** The request's client (a long poll stops waiting when it goes away). */
  readonly client?: ClientPresence;
  /**
   * The caller as its key is now (a long poll asks again after it waited).
   * @throws the protocol's InvalidClientTokenId when the key was deleted meanwhile.
   */
  readonly callerNow?: () => Promise<SqsCaller>;
}

/** An SQS operation: input in, output out (both JSON-ready). */
export type SqsOperation = (ctx: SqsContext, input: Input) => Promise<Record<string, unknown>>;
