/**
 * Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask): moving the
 * messages of a dead-letter queue back to their source queues, or to a queue of the caller's choice,
 * at a bounded rate. Tasks are stored, so a node that restarts resumes the ones still running.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
 */
import { randomUUID } from "node:crypto";
import type { MoveResult, MoveTask, Queue, QueueRef, Store } from "../store/index.js";
import { countInSteps } from "./counts.js";
import { parseQueueArn } from "./attributes.js";
import { QueueError } from "./errors/index.js";
import type { QueueService } from "./service.js";

/** The rate when the task names none (SQS moves "at a system-optimized rate"). */
export const DEFAULT_MOVE_RATE = 500;
/** The highest MaxNumberOfMessagesPerSecond. */
export const MAX_MOVE_RATE = 500;
/** The messages one transaction of a move task moves at most (see {@link MoveTasks.step}). */
export const MOVE_CHUNK = 20;
/** How long after a failure of the store's a move task's step is tried again. */
const STORE_RETRY_MS = 1000;

/** A task as ListMessageMoveTasks reports it. */
export interface MoveTaskReport {
  readonly TaskHandle?: string;
  readonly Status: string;
  readonly SourceArn: string;
  readonly DestinationArn?: string;
  readonly MaxNumberOfMessagesPerSecond?: number;
  readonly ApproximateNumberOfMessagesMoved: number;
  readonly ApproximateNumberOfMessagesToMove: number;
  readonly FailureReason?: string;
  readonly StartedTimestamp: number;
}

const notFound = (parameter: string): QueueError =>
  new QueueError(
    "ResourceNotFoundException",
    `The resource that you specified for the ${parameter} parameter doesn't exist.`,
  );

/** How the caller of a move-task operation may use the queues it names. */
export interface QueueAccess {
  /** Throws when the caller may not act on the queue. */
  authorize(queue: Queue): void;
  /**
   * The error for a queue that does not exist, when it is not ResourceNotFoundException: another
   * account's, which the caller may not learn of (AccessDenied, whether it exists or not).
   */
  refuseMissing(ref: QueueRef): QueueError | undefined;
}

/** Runs move tasks. */
export class MoveTasks {
  readonly #store: Store;
  readonly #queues: QueueService;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(queues: QueueService) {
    this.#queues = queues;
    this.#store = queues.store;
  }

  /** Encodes a task handle (base64 of the task id and source ARN, as SQS's carry the source). */
  static handleOf(task: MoveTask): string {
    return Buffer.from(JSON.stringify({ taskId: task.id, sourceArn: task.sourceArn })).toString("base64");
  }

  /**
   * Resolves a queue ARN of this region to its queue, authorized for the caller; throws what `access`
   * refuses a missing queue with, or ResourceNotFoundException.
   */
  private async queueOf(arn: string, parameter: string, access: QueueAccess): Promise<Queue> {
    const ref = parseQueueArn(arn);
    if (ref === undefined) {
      throw new QueueError(
        "InvalidParameterValue",
        `You must use this format to specify the ${parameter}: arn:<partition>:<service>:<region>:<account-id>:<resource-id>`,
      );
    }
    const queue = ref.region === this.#queues.region ? await this.#queues.findQueue(ref) : undefined;
    if (queue === undefined) throw access.refuseMissing(ref) ?? notFound(parameter);
    access.authorize(queue);
    return queue;
  }

  /** StartMessageMoveTask. Each queue involved is authorized (`access`) before anything starts. */
  async start(
    sourceArn: string,
    destinationArn: string | undefined,
    rate: number | undefined,
    access: QueueAccess,
  ): Promise<string> {
    const source = await this.queueOf(sourceArn, "SourceArn", access);
    const destination =
      destinationArn === undefined ? undefined : await this.queueOf(destinationArn, "DestinationArn", access);
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > MAX_MOVE_RATE)) {
      throw new QueueError(
        "InvalidParameterValue",
        `Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: You must enter a number that's between 1 and ${MAX_MOVE_RATE}.`,
      );
    }
    const sources = await this.#store.listDeadLetterSourceQueues(source.arn, { limit: 1 });
    if (sources.items.length === 0) {
      throw new QueueError(
        "InvalidParameterValue",
        "Source queue must be configured as a Dead Letter Queue.",
      );
    }
    if (destination !== undefined) {
      if (destination.arn === source.arn) {
        throw new QueueError(
          "InvalidParameterValue",
          "Source queue arn and destination queue arn cannot be the same.",
        );
      }
      if (destination.fifo !== source.fifo) {
        throw new QueueError(
          "InvalidParameterValue",
          "The source queue and destination queue must be of the same queue type.",
        );
      }
    }
    const running = (await this.#store.listMoveTasks(source.arn, 10)).some(
      (t) => t.status === "RUNNING" || t.status === "CANCELLING",
    );
    if (running) {
      throw new QueueError(
        "InvalidParameterValue",
        "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
      );
    }
    const counts = await countInSteps(this.#store, source, Date.now());
    const task: MoveTask = {
      id: randomUUID(),
      sourceArn: source.arn,
      ...(destination !== undefined && { destinationArn: destination.arn }),
      ...(rate !== undefined && { maxPerSecond: rate }),
      status: "RUNNING",
      moved: 0,
      toMove: counts.visible,
      startedAt: Date.now(),
    };
    await this.#store.putMoveTask(task);
    this.schedule(task, 0);
    return MoveTasks.handleOf(task);
  }

  /** ListMessageMoveTasks: the newest tasks of a source, at most `max` (default 1, up to 10). */
  async list(sourceArn: string, max: number | undefined, access: QueueAccess): Promise<MoveTaskReport[]> {
    const source = await this.queueOf(sourceArn, "SourceArn", access);
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 10)) {
      throw new QueueError(
        "InvalidParameterValue",
        `Value ${max} for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10.`,
      );
    }
    const tasks = await this.#store.listMoveTasks(source.arn, max ?? 1);
    return tasks.map((t) => ({
      ...(t.status === "RUNNING" && { TaskHandle: MoveTasks.handleOf(t) }),
      Status: t.status,
      SourceArn: t.sourceArn,
      ...(t.destinationArn !== undefined && { DestinationArn: t.destinationArn }),
      ...(t.maxPerSecond !== undefined && { MaxNumberOfMessagesPerSecond: t.maxPerSecond }),
      ApproximateNumberOfMessagesMoved: t.moved,
      ApproximateNumberOfMessagesToMove: t.toMove,
      ...(t.failureReason !== undefined && { FailureReason: t.failureReason }),
      StartedTimestamp: t.startedAt,
    }));
  }

  /** CancelMessageMoveTask: stops a running task; returns how many messages it moved. */
  async cancel(handle: string, access: QueueAccess): Promise<number> {
    let decoded: { taskId?: unknown; sourceArn?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(handle, "base64").toString("utf8")) as typeof decoded;
    } catch {
      throw new QueueError("InvalidParameterValue", "Value for parameter TaskHandle is invalid.");
    }
    if (typeof decoded.taskId !== "string" || typeof decoded.sourceArn !== "string") {
      throw new QueueError("InvalidParameterValue", "Value for parameter TaskHandle is invalid.");
    }
    const source = await this.queueOf(decoded.sourceArn, "SourceArn", access);
    const task = await this.#store.getMoveTask(decoded.taskId);
    if (task === undefined || task.sourceArn !== source.arn) {
      throw new QueueError("ResourceNotFoundException", "Task does not exist.");
    }
    if (task.status !== "RUNNING") {
      throw new QueueError("InvalidParameterValue", "Only active tasks can be cancelled.");
    }
    const timer = this.#timers.get(task.id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(task.id);
    await this.#store.putMoveTask({ ...task, status: "CANCELLED" });
    return task.moved;
  }

  /** Resumes the tasks a previous run of the node left running, and finishes cancellations. */
  async resume(tasks: readonly MoveTask[]): Promise<void> {
    for (const task of tasks) {
      if (task.status === "RUNNING") this.schedule(task, 0);
      else if (task.status === "CANCELLING") await this.#store.putMoveTask({ ...task, status: "CANCELLED" });
    }
  }

  private schedule(task: MoveTask, delay: number): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(task.id);
      void this.step(task.id);
    }, delay);
    timer.unref();
    this.#timers.set(task.id, timer);
  }

  /** Moves one second's worth of messages, then schedules the next step or finishes the task. */
  private async step(id: string): Promise<void> {
    const task = await this.#store.getMoveTask(id);
    if (task?.status !== "RUNNING" || this.#closed) return;
    const finish = (changes: Partial<MoveTask>): Promise<void> =>
      this.#store.putMoveTask({ ...task, ...changes });
    const source = parseQueueArn(task.sourceArn);
    const destination = task.destinationArn === undefined ? undefined : parseQueueArn(task.destinationArn);
    if (source === undefined || (task.destinationArn !== undefined && destination === undefined)) {
      await finish({ status: "FAILED", failureReason: "AWS.SimpleQueueService.NonExistentQueue" });
      return;
    }
    const started = Date.now();
    const rate = task.maxPerSecond ?? DEFAULT_MOVE_RATE;
    // A second's worth in transactions of MOVE_CHUNK messages: one of 500 messages of up to 1 MiB
    // would hold half a gigabyte in the write-ahead log at once.
    let result: MoveResult = { moved: 0, remaining: 0 };
    try {
      while (result.moved < rate) {
        const chunk = await this.#store.moveMessages(
          source,
          destination,
          Math.min(MOVE_CHUNK, rate - result.moved),
          started,
          task.id,
        );
        result = { ...chunk, moved: result.moved + chunk.moved };
        if (chunk.failure !== undefined || chunk.remaining === 0 || chunk.moved === 0) break;
      }
    } catch (e) {
      // The store's failures may pass (a full disk): the step is tried again a second on, what it
      // moved so far counted; a task the store keeps failing runs until it is cancelled.
      const name = (e as Error).name;
      if (name === "StoreFailureError" || name === "DiskLowError") {
        if (result.moved > 0) await finish({ moved: task.moved + result.moved }).catch(() => undefined);
        this.schedule({ ...task, moved: task.moved + result.moved }, STORE_RETRY_MS);
        return;
      }
      await finish({ status: "FAILED", failureReason: name });
      return;
    }
    const moved = task.moved + result.moved;
    if (result.moved > 0) {
      if (destination !== undefined) this.#queues.notify(destination);
      else this.#queues.notifyAll();
    }
    // Cancelled meanwhile: keep the cancellation, record the count.
    const now = await this.#store.getMoveTask(id);
    if (now?.status !== "RUNNING") {
      if (now !== undefined) await this.#store.putMoveTask({ ...now, moved });
      return;
    }
    if (result.failure !== undefined) {
      await finish({ moved, status: "FAILED", failureReason: result.failure });
    } else if (result.remaining === 0) {
      await finish({ moved, status: "COMPLETED" });
    } else {
      await finish({ moved });
      this.schedule({ ...task, moved }, Math.max(0, 1000 - (Date.now() - started)));
    }
  }

  /** Stops scheduling steps (the node is stopping; running tasks resume on the next start). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
