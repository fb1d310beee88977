/**
 * Queues as configuration: create, read, list, update and delete them, list the sources of a
 * dead-letter queue, and keep message move tasks. Their messages are in messages.ts.
 */
import type Database from "better-sqlite3";
import {
  RETIRED_QUEUES_ACCOUNT,
  type ListOptions,
  type MoveTask,
  type Page,
  type Queue,
  type QueueRef,
  type UpdateQueueOptions,
} from "../types.js";
import type { MessageStatements } from "./message-statements.js";
import { PageScope, accountAndName, afterAccountAndName, pageRequest, toPage } from "./paging.js";
import { fromMoveTask, fromQueue, toMoveTask, toQueue } from "./queue-rows.js";
import type { QueueStatements } from "./queue-statements.js";

/** Move tasks of a source kept once finished: as many as ListMessageMoveTasks shows. */
export const MOVE_TASKS_KEPT = 10;

/** Builds the queue operations over prepared statements. */
export function prepareQueueOperations(
  db: Database.Database,
  sql: QueueStatements,
  messageSql: MessageStatements,
) {
  return {
    /** Creates a queue; false when the account has one of that name (which is kept). */
    create(queue: Queue): boolean {
      return sql.insertQueue.run(fromQueue(queue)).changes > 0;
    },

    get(accountId: string, name: string): Queue | undefined {
      const row = sql.getQueue.get(accountId, name);
      return row === undefined ? undefined : toQueue(row);
    },

    /**
     * Queues of an account in name order, paged as buses are (paging.ts).
     * @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing.
     */
    list(accountId: string, options: ListOptions | undefined): Page<Queue> {
      const request = pageRequest(PageScope.Queues, options);
      const rows = sql.listQueues.all({ ...request.params, accountId });
      return toPage(request, rows.map(toQueue), (queue) => queue.name);
    },

    /**
     * Replaces the attributes, dead-letter target and modification time of an existing queue, and
     * with `redelayUnreceivedMs`, the visibility of its messages never received (Store.updateQueue).
     */
    update: db.transaction((queue: Queue, options: UpdateQueueOptions | undefined): boolean => {
      if (sql.updateQueue.run(fromQueue(queue)).changes === 0) return false;
      const delayMs = options?.redelayUnreceivedMs;
      if (delayMs !== undefined) {
        const key = sql.queueKey.get(queue.accountId, queue.name);
        if (key !== undefined) messageSql.redelayUnreceived.run({ queueId: key.id, delayMs });
      }
      return true;
    }).immediate,

    /**
     * Deletes a queue with its tags, messages, deduplication records and the move tasks whose source it
     * is; false when it does not exist.
     */
    delete: db.transaction((accountId: string, name: string): boolean => {
      const queue = sql.queueKey.get(accountId, name);
      if (queue === undefined) return false;
      sql.deleteTagsOfArn.run(queue.arn);
      messageSql.deleteContentOfQueue.run(queue.id);
      messageSql.deleteStatesOfQueue.run(queue.id);
      sql.deleteDeduplicationOfQueue.run(queue.id);
      sql.deleteMoveTasksOfSource.run(queue.arn);
      sql.deleteQueue.run(queue.id);
      return true;
    }).immediate,

    /** Moves a queue to the retired account under its id as name, with what goes with it deleted. */
    retire: db.transaction((accountId: string, name: string): QueueRef | undefined => {
      const queue = sql.queueKey.get(accountId, name);
      if (queue === undefined) return undefined;
      sql.deleteTagsOfArn.run(queue.arn);
      sql.deleteDeduplicationOfQueue.run(queue.id);
      sql.deleteMoveTasksOfSource.run(queue.arn);
      const retired = { accountId: RETIRED_QUEUES_ACCOUNT, name: String(queue.id) };
      sql.retireQueue.run(retired.accountId, retired.name, queue.id);
      return retired;
    }).immediate,

    /**
     * Queues of any account whose dead-letter target is `arn`, in account and name order; a `prefix`
     * filters names literally. Tokens carry the last (account, name).
     * @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing.
     */
    listDeadLetterSources(arn: string, options: ListOptions | undefined): Page<Queue> {
      const request = pageRequest(PageScope.DeadLetterSourceQueues, options);
      const [afterAccount, afterName] = afterAccountAndName(request, options?.nextToken);
      const rows = sql.listDeadLetterSources.all({
        arn,
        afterAccount,
        afterName,
        prefix: request.prefix,
        fetch: request.params.fetch,
      });
      // The statement applied the prefix; the page only cuts the rows and makes the token.
      return toPage({ ...request, prefix: "" }, rows.map(toQueue), (queue) =>
        accountAndName(queue.accountId, queue.name),
      );
    },

    /**
     * Creates or replaces a move task by id (a replaced task keeps its place in creation order). A
     * task that finishes takes with it the finished tasks of its source beyond the
     * {@link MOVE_TASKS_KEPT} latest, which nothing shows any more (kept, a dead-letter queue redriven
     * every minute gathered ~300 bytes a task without end).
     */
    putMoveTask(task: MoveTask): void {
      sql.upsertMoveTask.run(fromMoveTask(task));
      if (task.status !== "RUNNING" && task.status !== "CANCELLING")
        sql.pruneMoveTasks.run(task.sourceArn, task.sourceArn, MOVE_TASKS_KEPT);
    },

    getMoveTask(id: string): MoveTask | undefined {
      const row = sql.getMoveTask.get(id);
      return row === undefined ? undefined : toMoveTask(row);
    },

    /** Running and cancelling move tasks of every source, oldest first. */
    listActiveMoveTasks(): MoveTask[] {
      return sql.listActiveMoveTasks.all().map(toMoveTask);
    },

    /** Move tasks of a source, newest `startedAt` first, then latest created first; none when `limit` < 1. */
    listMoveTasks(sourceArn: string, limit: number): MoveTask[] {
      const count = Math.floor(limit);
      return count >= 1 ? sql.listMoveTasks.all(sourceArn, count).map(toMoveTask) : [];
    },
  };
}

/** The queue operations of a store. */
export type QueueOperations = ReturnType<typeof prepareQueueOperations>;
