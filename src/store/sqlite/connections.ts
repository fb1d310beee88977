/**
 * Connections and API destinations (EventBridge's CreateConnection and CreateApiDestination): create,
 * read, list (paged as buses are, with a filter), update and delete. Each is one statement.
 */
import type {
  ApiDestination,
  ApiDestinationListOptions,
  Connection,
  ConnectionListOptions,
  Page,
} from "../types.js";
import { fromApiDestination, fromConnection, toApiDestination, toConnection } from "./connection-rows.js";
import type { ConnectionStatements } from "./connection-statements.js";
import { PageScope, pageRequest, toPage } from "./paging.js";

/** Builds the connection and API destination operations over prepared statements. */
export function prepareConnectionOperations(sql: ConnectionStatements) {
  return {
    /** Creates a connection; false when the account has one of that name (which is kept). */
    createConnection(connection: Connection): boolean {
      return sql.insertConnection.run(fromConnection(connection)).changes > 0;
    },

    getConnection(accountId: string, name: string): Connection | undefined {
      const row = sql.getConnection.get(accountId, name);
      return row === undefined ? undefined : toConnection(row);
    },

    /**
     * Connections of an account in name order, only those in `options.state` when it is given.
     * @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing.
     */
    listConnections(accountId: string, options: ConnectionListOptions | undefined): Page<Connection> {
      const request = pageRequest(PageScope.Connections, options);
      const state = options?.state ?? null;
      const rows = sql.listConnections.all({ ...request.params, accountId, state });
      return toPage(request, rows.map(toConnection), (connection) => connection.name);
    },

    /** How many connections the account has. */
    countConnections(accountId: string): number {
      return sql.countConnections.get(accountId)?.n ?? 0;
    },

    /** Replaces every field of an existing connection but its account and name. */
    updateConnection(connection: Connection): boolean {
      return sql.updateConnection.run(fromConnection(connection)).changes > 0;
    },

    deleteConnection(accountId: string, name: string): boolean {
      return sql.deleteConnection.run(accountId, name).changes > 0;
    },

    /** Creates an API destination; false when the account has one of that name (which is kept). */
    createApiDestination(destination: ApiDestination): boolean {
      return sql.insertApiDestination.run(fromApiDestination(destination)).changes > 0;
    },

    getApiDestination(accountId: string, name: string): ApiDestination | undefined {
      const row = sql.getApiDestination.get(accountId, name);
      return row === undefined ? undefined : toApiDestination(row);
    },

    /**
     * API destinations of an account in name order, only those of `options.connectionArn` when it is
     * given.
     * @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing.
     */
    listApiDestinations(
      accountId: string,
      options: ApiDestinationListOptions | undefined,
    ): Page<ApiDestination> {
      const request = pageRequest(PageScope.ApiDestinations, options);
      const connectionArn = options?.connectionArn ?? null;
      const rows = sql.listApiDestinations.all({ ...request.params, accountId, connectionArn });
      return toPage(request, rows.map(toApiDestination), (destination) => destination.name);
    },

    /** How many API destinations the account has. */
    countApiDestinations(accountId: string): number {
      return sql.countApiDestinations.get(accountId)?.n ?? 0;
    },

    /** Replaces every field of an existing API destination but its account and name. */
    updateApiDestination(destination: ApiDestination): boolean {
      return sql.updateApiDestination.run(fromApiDestination(destination)).changes > 0;
    },

    deleteApiDestination(accountId: string, name: string): boolean {
      return sql.deleteApiDestination.run(accountId, name).changes > 0;
    },
  };
}

/** The connection and API destination operations of a store. */
export type ConnectionOperations = ReturnType<typeof prepareConnectionOperations>;
