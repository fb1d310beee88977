/**
 * Connection operations: CreateConnection, DescribeConnection, ListConnections, UpdateConnection,
 * DeleteConnection, DeauthorizeConnection. A connection's AuthParameters, secrets included, are
 * stored sealed by the node's secret box (see src/delivery/secrets.ts); no answer ever holds a secret.
 *
 * Busbar authorizes a connection at once: BASIC and API_KEY as EventBridge does, and
 * OAUTH_CLIENT_CREDENTIALS too (EventBridge fetches a token first, AUTHORIZING meanwhile), the token
 * being fetched by the delivery engine when it first calls the endpoint (docs/connections.md).
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnection.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateConnection.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeauthorizeConnection.html
 */
import { randomUUID } from "node:crypto";
import { SecretBoxError, readAuthParameters } from "../../delivery/index.js";
import type { Connection, ConnectionAuthorizationType, ConnectionState } from "../../store/index.js";
import { ApiError } from "../errors.js";
import { optionalString, requiredString, type Input } from "../input.js";
import { syncApiDestinations } from "./api-destinations.js";
import {
  AUTHORIZATION_TYPES,
  CONNECTION_NAME,
  checkAuthorizationType,
  enumMember,
  mergeAuthParameters,
  missingMember,
  publicAuthParameters,
  readAuthParametersInput,
  type StoredAuthParameters,
} from "./connection-auth.js";
import { epochSeconds, nextTokenOf, pageOptions, type Operation, type OperationContext } from "./context.js";

/** Every state ListConnections may filter by (EventBridge's ConnectionState). */
const CONNECTION_STATES = [
  "CREATING",
  "UPDATING",
  "DELETING",
  "AUTHORIZED",
  "DEAUTHORIZED",
  "AUTHORIZING",
  "DEAUTHORIZING",
  "ACTIVE",
  "FAILED_CONNECTIVITY",
] as const;

/** The states a Busbar connection can be in (the others never occur). */
const STORED_STATES: readonly string[] = [
  "CREATING",
  "UPDATING",
  "DELETING",
  "AUTHORIZED",
  "DEAUTHORIZED",
  "AUTHORIZING",
  "DEAUTHORIZING",
] satisfies ConnectionState[];

/** Most connections per account (EventBridge's quota). */
export const MAX_CONNECTIONS_PER_ACCOUNT = 3000;

/** `arn:aws:events:<region>:<account>:connection/<name>/<uuid>`. */
export function connectionArn(region: string, accountId: string, name: string, id: string): string {
  return `arn:aws:events:${region}:${accountId}:connection/${name}/${id}`;
}

/**
 * The caller's connection of this name, once the caller is authorized for `action` on it, or
 * ResourceNotFoundException in EventBridge's words. Authorized before it is told whether the connection
 * exists (on `connection/<name>/*` when it does not), so that a caller its policies refuse learns no
 * names.
 */
async function existingConnection(
  ctx: OperationContext,
  name: string,
  verb: string,
  action: string,
): Promise<Connection> {
  const connection = await ctx.store.getConnection(ctx.caller.accountId, name);
  ctx.authorize(action, connection?.arn ?? connectionArn(ctx.region, ctx.caller.accountId, name, "*"));
  if (connection === undefined) {
    throw new ApiError(
      "ResourceNotFoundException",
      `Failed to ${verb} the connection(s). Connection '${name}' does not exist.`,
    );
  }
  return connection;
}

function seal(ctx: OperationContext, auth: StoredAuthParameters): string {
  return ctx.secrets.seal(JSON.stringify(auth));
}

/** The stored AuthParameters, secrets included; InternalException when this node's key cannot open them. */
function unseal(ctx: OperationContext, connection: Connection): StoredAuthParameters {
  try {
    return readAuthParameters(ctx.secrets, connection);
  } catch (e) {
    if (!(e instanceof SecretBoxError)) throw e;
    throw new ApiError(
      "InternalException",
      `The secrets of connection ${connection.name} cannot be decrypted with this node's secrets key.`,
      { cause: e },
    );
  }
}

/** The times CreateConnection, UpdateConnection, DeleteConnection and DeauthorizeConnection answer. */
function times(c: Connection): Record<string, unknown> {
  return {
    CreationTime: epochSeconds(c.createdAt),
    LastModifiedTime: epochSeconds(c.lastModifiedAt),
    ...(c.lastAuthorizedAt !== undefined && { LastAuthorizedTime: epochSeconds(c.lastAuthorizedAt) }),
  };
}

/** A connection as ListConnections lists it. */
function listed(c: Connection): Record<string, unknown> {
  return {
    ConnectionArn: c.arn,
    Name: c.name,
    ConnectionState: c.state,
    ...(c.stateReason !== undefined && { StateReason: c.stateReason }),
    AuthorizationType: c.authorizationType,
    ...times(c),
  };
}

/** Refuses the members of private connectivity and customer managed keys, which Busbar has not. */
function refuseUnsupported(input: Input): void {
  if (
    input.InvocationConnectivityParameters !== undefined &&
    input.InvocationConnectivityParameters !== null
  ) {
    throw new ApiError(
      "ValidationException",
      "Parameter InvocationConnectivityParameters is not valid. Reason: connections to private APIs are not supported by Busbar.",
    );
  }
  if (input.KmsKeyIdentifier !== undefined && input.KmsKeyIdentifier !== null) {
    throw new ApiError(
      "ValidationException",
      "Parameter KmsKeyIdentifier is not valid. Reason: Busbar encrypts connection secrets with its own secrets key.",
    );
  }
}

const createConnection: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", CONNECTION_NAME);
  const description = optionalString(input, "Description", { max: 512 });
  const type = enumMember(
    input,
    "AuthorizationType",
    AUTHORIZATION_TYPES,
    true,
  ) as ConnectionAuthorizationType;
  refuseUnsupported(input);
  const auth = readAuthParametersInput(input, "create") as StoredAuthParameters;
  checkAuthorizationType(type, auth, true);
  const arn = connectionArn(ctx.region, ctx.caller.accountId, name, randomUUID());
  ctx.authorize("events:CreateConnection", arn);
  if ((await ctx.store.getConnection(ctx.caller.accountId, name)) !== undefined)
    throw new ApiError("ResourceAlreadyExistsException", `Connection '${name}' already exists.`);
  if ((await ctx.store.countConnections(ctx.caller.accountId)) >= MAX_CONNECTIONS_PER_ACCOUNT) {
    throw new ApiError(
      "LimitExceededException",
      `An account can have at most ${MAX_CONNECTIONS_PER_ACCOUNT} connections.`,
    );
  }
  const now = Date.now();
  const connection: Connection = {
    accountId: ctx.caller.accountId,
    name,
    arn,
    ...(description !== undefined && { description }),
    authorizationType: type,
    state: "AUTHORIZED",
    authParameters: seal(ctx, auth),
    createdAt: now,
    lastModifiedAt: now,
    lastAuthorizedAt: now,
  };
  if (!(await ctx.store.createConnection(connection)))
    throw new ApiError("ResourceAlreadyExistsException", `Connection '${name}' already exists.`);
  return {
    ConnectionArn: arn,
    ConnectionState: connection.state,
    CreationTime: epochSeconds(now),
    LastModifiedTime: epochSeconds(now),
  };
};

const describeConnection: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", CONNECTION_NAME);
  const c = await existingConnection(ctx, name, "describe", "events:DescribeConnection");
  return {
    ConnectionArn: c.arn,
    Name: c.name,
    ...(c.description !== undefined && { Description: c.description }),
    ConnectionState: c.state,
    ...(c.stateReason !== undefined && { StateReason: c.stateReason }),
    AuthorizationType: c.authorizationType,
    AuthParameters: publicAuthParameters(unseal(ctx, c)),
    ...times(c),
  };
};

const listConnections: Operation = async (ctx, input) => {
  const prefix = optionalString(input, "NamePrefix", CONNECTION_NAME);
  const state = enumMember(input, "ConnectionState", CONNECTION_STATES, false);
  const paging = pageOptions(input);
  ctx.authorize(
    "events:ListConnections",
    `arn:aws:events:${ctx.region}:${ctx.caller.accountId}:connection/*`,
  );
  // States a Busbar connection never has list nothing.
  if (state !== undefined && !STORED_STATES.includes(state)) return { Connections: [] };
  const page = await ctx.store.listConnections(ctx.caller.accountId, {
    ...(prefix !== undefined && { prefix }),
    ...(state !== undefined && { state: state as ConnectionState }),
    ...paging,
  });
  return {
    Connections: page.items.map(listed),
    ...nextTokenOf(page),
  };
};

const updateConnection: Operation = async (ctx, input) => {
  // The input is checked first, as EventBridge checks its constraints before it looks anything up.
  const name = requiredString(input, "Name", CONNECTION_NAME);
  const description = optionalString(input, "Description", { max: 512 });
  const givenType = enumMember(input, "AuthorizationType", AUTHORIZATION_TYPES, false);
  refuseUnsupported(input);
  const given = readAuthParametersInput(input, "update");
  const c = await existingConnection(ctx, name, "update", "events:UpdateConnection");
  const type = givenType ?? c.authorizationType;
  const now = Date.now();
  let authorization: Pick<Connection, "authorizationType" | "state" | "authParameters" | "lastAuthorizedAt"> =
    c;
  if (given !== undefined || type !== c.authorizationType) {
    checkAuthorizationType(type, given ?? {}, type !== c.authorizationType);
    const merged = mergeAuthParameters(unseal(ctx, c), c.authorizationType, given ?? {}, type);
    const missing = missingMember(type, merged);
    if (missing !== undefined) {
      throw new ApiError(
        "ValidationException",
        `Parameter AuthParameters.${missing.member} is not valid. Reason: ${missing.reason}`,
      );
    }
    authorization = {
      authorizationType: type,
      state: "AUTHORIZED",
      authParameters: seal(ctx, merged),
      lastAuthorizedAt: now,
    };
  }
  const { description: previous, stateReason: _reason, lastAuthorizedAt: _authorized, ...base } = c;
  const updated: Connection = {
    ...base,
    ...((description ?? previous) !== undefined && { description: description ?? previous }),
    authorizationType: authorization.authorizationType,
    state: authorization.state,
    authParameters: authorization.authParameters,
    ...(authorization.lastAuthorizedAt !== undefined && { lastAuthorizedAt: authorization.lastAuthorizedAt }),
    lastModifiedAt: now,
  };
  if (!(await ctx.store.updateConnection(updated))) {
    throw new ApiError(
      "ResourceNotFoundException",
      `Failed to update the connection(s). Connection '${c.name}' does not exist.`,
    );
  }
  if (updated.state !== c.state) await syncApiDestinations(ctx, c.arn, updated);
  ctx.apiDestinationsChanged();
  return { ConnectionArn: c.arn, ConnectionState: updated.state, ...times(updated) };
};

const deleteConnection: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", CONNECTION_NAME);
  const c = await existingConnection(ctx, name, "delete", "events:DeleteConnection");
  await ctx.store.deleteConnection(c.accountId, c.name);
  // API destinations of a deleted connection stay, INACTIVE (EventBridge does not refuse the delete).
  await syncApiDestinations(ctx, c.arn, undefined);
  ctx.apiDestinationsChanged();
  return { ConnectionArn: c.arn, ConnectionState: "DELETING", ...times(c) };
};

const deauthorizeConnection: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", CONNECTION_NAME);
  const c = await existingConnection(ctx, name, "deauthorize", "events:DeauthorizeConnection");
  const { stateReason: _reason, ...base } = c;
  const updated: Connection = {
    ...base,
    state: "DEAUTHORIZED",
    // The secrets go; what DescribeConnection shows stays, for UpdateConnection to authorize again.
    authParameters: seal(ctx, publicAuthParameters(unseal(ctx, c))),
    lastModifiedAt: Date.now(),
  };
  if (!(await ctx.store.updateConnection(updated))) {
    throw new ApiError(
      "ResourceNotFoundException",
      `Failed to deauthorize the connection(s). Connection '${c.name}' does not exist.`,
    );
  }
  if (c.state !== updated.state) await syncApiDestinations(ctx, c.arn, updated);
  ctx.apiDestinationsChanged();
  return { ConnectionArn: c.arn, ConnectionState: updated.state, ...times(updated) };
};

/** The connection operations by name. */
export const connectionOperations: Readonly<Record<string, Operation>> = {
  CreateConnection: createConnection,
  DescribeConnection: describeConnection,
  ListConnections: listConnections,
  UpdateConnection: updateConnection,
  DeleteConnection: deleteConnection,
  DeauthorizeConnection: deauthorizeConnection,
};
