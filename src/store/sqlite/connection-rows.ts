/**
 * Rows of `connections` and `api_destinations` as SQLite returns them, and their conversions to and
 * from the domain types. As in rows.ts, optional fields are stored as NULL and come back absent.
 */
import type { ApiDestination, Connection, ConnectionAuthorizationType, ConnectionState } from "../types.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A row of `connections`, also the bind parameters of its insert and update. */
export interface ConnectionRow {
  readonly accountId: string;
  readonly name: string;
  readonly arn: string;
  readonly description: string | null;
  readonly authorizationType: string;
  readonly state: string;
  readonly stateReason: string | null;
  readonly authParameters: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
  readonly lastAuthorizedAt: number | null;
}

/** A row of `api_destinations`, also the bind parameters of its insert and update. */
export interface ApiDestinationRow {
  readonly accountId: string;
  readonly name: string;
  readonly arn: string;
  readonly description: string | null;
  readonly connectionArn: string;
  readonly invocationEndpoint: string;
  readonly httpMethod: string;
  readonly invocationRateLimitPerSecond: number;
  readonly state: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** Converts a connection row, leaving NULL optional fields absent. */
export function toConnection(row: ConnectionRow): Connection {
  const connection: Mutable<Connection> = {
    accountId: row.accountId,
    name: row.name,
    arn: row.arn,
    authorizationType: row.authorizationType as ConnectionAuthorizationType,
    state: row.state as ConnectionState,
    authParameters: row.authParameters,
    createdAt: row.createdAt,
    lastModifiedAt: row.lastModifiedAt,
  };
  if (row.description !== null) connection.description = row.description;
  if (row.stateReason !== null) connection.stateReason = row.stateReason;
  if (row.lastAuthorizedAt !== null) connection.lastAuthorizedAt = row.lastAuthorizedAt;
  return connection;
}

/** The bind parameters of a connection, with absent optional fields as NULL. */
export function fromConnection(connection: Connection): ConnectionRow {
  return {
    accountId: connection.accountId,
    name: connection.name,
    arn: connection.arn,
    description: connection.description ?? null,
    authorizationType: connection.authorizationType,
    state: connection.state,
    stateReason: connection.stateReason ?? null,
    authParameters: connection.authParameters,
    createdAt: connection.createdAt,
    lastModifiedAt: connection.lastModifiedAt,
    lastAuthorizedAt: connection.lastAuthorizedAt ?? null,
  };
}

/** Converts an API destination row, leaving a NULL description absent. */
export function toApiDestination(row: ApiDestinationRow): ApiDestination {
  const destination: Mutable<ApiDestination> = {
    accountId: row.accountId,
    name: row.name,
    arn: row.arn,
    connectionArn: row.connectionArn,
    invocationEndpoint: row.invocationEndpoint,
    httpMethod: row.httpMethod,
    invocationRateLimitPerSecond: row.invocationRateLimitPerSecond,
    state: row.state as ApiDestination["state"],
    createdAt: row.createdAt,
    lastModifiedAt: row.lastModifiedAt,
  };
  if (row.description !== null) destination.description = row.description;
  return destination;
}

/** The bind parameters of an API destination, with an absent description as NULL. */
export function fromApiDestination(destination: ApiDestination): ApiDestinationRow {
  return {
    accountId: destination.accountId,
    name: destination.name,
    arn: destination.arn,
    description: destination.description ?? null,
    connectionArn: destination.connectionArn,
    invocationEndpoint: destination.invocationEndpoint,
    httpMethod: destination.httpMethod,
    invocationRateLimitPerSecond: destination.invocationRateLimitPerSecond,
    state: destination.state,
    createdAt: destination.createdAt,
    lastModifiedAt: destination.lastModifiedAt,
  };
}
