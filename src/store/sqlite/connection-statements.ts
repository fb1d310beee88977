/**
 * The SQL statements of connections and API destinations, prepared once when the store opens.
 * Listings page as buses do (paging.ts); a filter left NULL matches every row. A LIMIT parameter is
 * written `LIMIT +@x` (see statements.ts).
 */
import type Database from "better-sqlite3";
import type { ApiDestinationRow, ConnectionRow } from "./connection-rows.js";
import type { PageParams } from "./paging.js";

/** Bind parameters of a connection listing. */
export interface ConnectionListParams extends PageParams {
  readonly accountId: string;
  /** Only connections in this state; NULL for all. */
  readonly state: string | null;
}

/** Bind parameters of an API destination listing. */
export interface ApiDestinationListParams extends PageParams {
  readonly accountId: string;
  /** Only API destinations of this connection; NULL for all. */
  readonly connectionArn: string | null;
}

const CONNECTION_COLUMNS = `account_id AS accountId, name, arn, description,
  authorization_type AS authorizationType, state, state_reason AS stateReason,
  auth_parameters AS authParameters, created_at AS createdAt, last_modified_at AS lastModifiedAt,
  last_authorized_at AS lastAuthorizedAt`;
const API_DESTINATION_COLUMNS = `account_id AS accountId, name, arn, description,
  connection_arn AS connectionArn, invocation_endpoint AS invocationEndpoint, http_method AS httpMethod,
  invocation_rate_limit_per_second AS invocationRateLimitPerSecond, state, created_at AS createdAt,
  last_modified_at AS lastModifiedAt`;
const PAGE = `AND name > @after AND name >= @prefix ORDER BY name LIMIT +@fetch`;

/** Prepares the statements of connections and API destinations. */
export function prepareConnectionStatements(db: Database.Database) {
  return {
    insertConnection: db.prepare<[ConnectionRow]>(
      `INSERT INTO connections (account_id, name, arn, description, authorization_type, state,
         state_reason, auth_parameters, created_at, last_modified_at, last_authorized_at)
       VALUES (@accountId, @name, @arn, @description, @authorizationType, @state, @stateReason,
         @authParameters, @createdAt, @lastModifiedAt, @lastAuthorizedAt)
       ON CONFLICT DO NOTHING`,
    ),
    updateConnection: db.prepare<[ConnectionRow]>(
      `UPDATE connections SET arn = @arn, description = @description,
         authorization_type = @authorizationType, state = @state, state_reason = @stateReason,
         auth_parameters = @authParameters, created_at = @createdAt, last_modified_at = @lastModifiedAt,
         last_authorized_at = @lastAuthorizedAt
       WHERE account_id = @accountId AND name = @name`,
    ),
    getConnection: db.prepare<[string, string], ConnectionRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM connections WHERE account_id = ? AND name = ?`,
    ),
    listConnections: db.prepare<[ConnectionListParams], ConnectionRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM connections WHERE account_id = @accountId
         AND (@state IS NULL OR state = @state) ${PAGE}`,
    ),
    countConnections: db.prepare<[string], { n: number }>(
      `SELECT count(*) AS n FROM connections WHERE account_id = ?`,
    ),
    deleteConnection: db.prepare<[string, string]>(
      `DELETE FROM connections WHERE account_id = ? AND name = ?`,
    ),

    insertApiDestination: db.prepare<[ApiDestinationRow]>(
      `INSERT INTO api_destinations (account_id, name, arn, description, connection_arn,
         invocation_endpoint, http_method, invocation_rate_limit_per_second, state, created_at,
         last_modified_at)
       VALUES (@accountId, @name, @arn, @description, @connectionArn, @invocationEndpoint, @httpMethod,
         @invocationRateLimitPerSecond, @state, @createdAt, @lastModifiedAt)
       ON CONFLICT DO NOTHING`,
    ),
    updateApiDestination: db.prepare<[ApiDestinationRow]>(
      `UPDATE api_destinations SET arn = @arn, description = @description,
         connection_arn = @connectionArn, invocation_endpoint = @invocationEndpoint,
         http_method = @httpMethod, invocation_rate_limit_per_second = @invocationRateLimitPerSecond,
         state = @state, created_at = @createdAt, last_modified_at = @lastModifiedAt
       WHERE account_id = @accountId AND name = @name`,
    ),
    getApiDestination: db.prepare<[string, string], ApiDestinationRow>(
      `SELECT ${API_DESTINATION_COLUMNS} FROM api_destinations WHERE account_id = ? AND name = ?`,
    ),
    listApiDestinations: db.prepare<[ApiDestinationListParams], ApiDestinationRow>(
      `SELECT ${API_DESTINATION_COLUMNS} FROM api_destinations WHERE account_id = @accountId
         AND (@connectionArn IS NULL OR connection_arn = @connectionArn) ${PAGE}`,
    ),
    countApiDestinations: db.prepare<[string], { n: number }>(
      `SELECT count(*) AS n FROM api_destinations WHERE account_id = ?`,
    ),
    deleteApiDestination: db.prepare<[string, string]>(
      `DELETE FROM api_destinations WHERE account_id = ? AND name = ?`,
    ),
  };
}

/** The prepared statements of connections and API destinations. */
export type ConnectionStatements = ReturnType<typeof prepareConnectionStatements>;
