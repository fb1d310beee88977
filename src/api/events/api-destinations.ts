/**
 * API destination operations: CreateApiDestination, DescribeApiDestination, ListApiDestinations,
 * UpdateApiDestination, DeleteApiDestination. An API destination is an HTTP endpoint called through a
 * connection; it is ACTIVE while its connection is AUTHORIZED and INACTIVE otherwise (its connection
 * deauthorized or deleted), as EventBridge keeps it.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateApiDestination.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateApiDestination.html
 */
import { randomUUID } from "node:crypto";
import type { ApiDestination, Connection } from "../../store/index.js";
import { ApiError } from "../errors.js";
import { optionalInteger, optionalString, requiredString, type Input, type StringRule } from "../input.js";
import { CONNECTION_ARN, ENDPOINT, checkEndpoint, enumMember } from "./connection-auth.js";
import { epochSeconds, nextTokenOf, pageOptions, type Operation, type OperationContext } from "./context.js";

/** API destination names: `[\.\-_A-Za-z0-9]+`, 1–64. */
const API_DESTINATION_NAME: StringRule = { min: 1, max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ };

/** The HTTP methods of an API destination. */
export const API_DESTINATION_HTTP_METHODS = [
  "POST",
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "PATCH",
  "DELETE",
] as const;

/**
 * Calls per second when CreateApiDestination gives no InvocationRateLimitPerSecond.
 * @default 300 (EventBridge's default)
 */
export const DEFAULT_INVOCATION_RATE_LIMIT = 300;

/** Largest InvocationRateLimitPerSecond (the API's Integer); the least is 1. */
const MAX_INVOCATION_RATE_LIMIT = 2 ** 31 - 1;

/** Most API destinations per account (EventBridge's quota). */
export const MAX_API_DESTINATIONS_PER_ACCOUNT = 3000;

/** `arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>`. */
export function apiDestinationArn(region: string, accountId: string, name: string, id: string): string {
  return `arn:aws:events:${region}:${accountId}:api-destination/${name}/${id}`;
}

/** The state an API destination has through `connection` (absent: deleted). */
export function destinationState(connection: Connection | undefined): ApiDestination["state"] {
  return connection?.state === "AUTHORIZED" ? "ACTIVE" : "INACTIVE";
}

/**
 * Brings the API destinations of a connection to the state the connection now gives them (after it
 * was updated, deauthorized or deleted); `connection` absent means deleted.
 */
export async function syncApiDestinations(
  ctx: OperationContext,
  connectionArn: string,
  connection: Connection | undefined,
): Promise<void> {
  const state = destinationState(connection);
  let nextToken: string | undefined;
  do {
    const page = await ctx.store.listApiDestinations(ctx.caller.accountId, {
      connectionArn,
      limit: 100,
      ...(nextToken !== undefined && { nextToken }),
    });
    for (const d of page.items) {
      if (d.state !== state) await ctx.store.updateApiDestination({ ...d, state });
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
}

/** The caller's connection with this ARN (the same name and id: not one created again since). */
async function findConnection(ctx: OperationContext, arn: string): Promise<Connection | undefined> {
  const name = /:connection\/([^/]+)\//.exec(arn)?.[1];
  if (name === undefined) return undefined;
  const connection = await ctx.store.getConnection(ctx.caller.accountId, name);
  return connection?.arn === arn ? connection : undefined;
}

/** The caller's connection with this ARN, or ResourceNotFoundException. */
async function connectionByArn(ctx: OperationContext, arn: string): Promise<Connection> {
  const connection = await findConnection(ctx, arn);
  if (connection === undefined)
    throw new ApiError("ResourceNotFoundException", `Connection '${arn}' does not exist.`);
  return connection;
}

/**
 * The caller's API destination of this name, once the caller is authorized for `action` on it, or
 * ResourceNotFoundException in EventBridge's words; authorized first (on `api-destination/<name>/*`
 * when there is none), as connections are.
 */
async function existingDestination(
  ctx: OperationContext,
  name: string,
  verb: string,
  action: string,
): Promise<ApiDestination> {
  const destination = await ctx.store.getApiDestination(ctx.caller.accountId, name);
  ctx.authorize(action, destination?.arn ?? apiDestinationArn(ctx.region, ctx.caller.accountId, name, "*"));
  if (destination === undefined) {
    throw new ApiError(
      "ResourceNotFoundException",
      `Failed to ${verb} the api-destination(s). An api-destination '${name}' does not exist.`,
    );
  }
  return destination;
}

function readEndpoint(input: Input, required: boolean): string | undefined {
  const endpoint = required
    ? requiredString(input, "InvocationEndpoint", ENDPOINT)
    : optionalString(input, "InvocationEndpoint", ENDPOINT);
  return endpoint === undefined ? undefined : checkEndpoint(endpoint, "InvocationEndpoint");
}

function summary(d: ApiDestination): Record<string, unknown> {
  return {
    ApiDestinationArn: d.arn,
    ApiDestinationState: d.state,
    CreationTime: epochSeconds(d.createdAt),
    LastModifiedTime: epochSeconds(d.lastModifiedAt),
  };
}

function describe(d: ApiDestination, withDescription: boolean): Record<string, unknown> {
  return {
    ApiDestinationArn: d.arn,
    Name: d.name,
    ...(withDescription && d.description !== undefined && { Description: d.description }),
    ApiDestinationState: d.state,
    ConnectionArn: d.connectionArn,
    InvocationEndpoint: d.invocationEndpoint,
    HttpMethod: d.httpMethod,
    InvocationRateLimitPerSecond: d.invocationRateLimitPerSecond,
    CreationTime: epochSeconds(d.createdAt),
    LastModifiedTime: epochSeconds(d.lastModifiedAt),
  };
}

const createApiDestination: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", API_DESTINATION_NAME);
  const description = optionalString(input, "Description", { max: 512 });
  const connectionArn = requiredString(input, "ConnectionArn", CONNECTION_ARN);
  const endpoint = readEndpoint(input, true) as string;
  const method = enumMember(input, "HttpMethod", API_DESTINATION_HTTP_METHODS, true) as string;
  const rate =
    optionalInteger(input, "InvocationRateLimitPerSecond", 1, MAX_INVOCATION_RATE_LIMIT) ??
    DEFAULT_INVOCATION_RATE_LIMIT;
  const arn = apiDestinationArn(ctx.region, ctx.caller.accountId, name, randomUUID());
  ctx.authorize("events:CreateApiDestination", arn);
  const connection = await connectionByArn(ctx, connectionArn);
  if ((await ctx.store.getApiDestination(ctx.caller.accountId, name)) !== undefined)
    throw new ApiError("ResourceAlreadyExistsException", `An api-destination '${name}' already exists.`);
  if ((await ctx.store.countApiDestinations(ctx.caller.accountId)) >= MAX_API_DESTINATIONS_PER_ACCOUNT) {
    throw new ApiError(
      "LimitExceededException",
      `An account can have at most ${MAX_API_DESTINATIONS_PER_ACCOUNT} API destinations.`,
    );
  }
  const now = Date.now();
  const destination: ApiDestination = {
    accountId: ctx.caller.accountId,
    name,
    arn,
    ...(description !== undefined && { description }),
    connectionArn,
    invocationEndpoint: endpoint,
    httpMethod: method,
    invocationRateLimitPerSecond: rate,
    state: destinationState(connection),
    createdAt: now,
    lastModifiedAt: now,
  };
  if (!(await ctx.store.createApiDestination(destination)))
    throw new ApiError("ResourceAlreadyExistsException", `An api-destination '${name}' already exists.`);
  return summary(destination);
};

const describeApiDestination: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", API_DESTINATION_NAME);
  const d = await existingDestination(ctx, name, "describe", "events:DescribeApiDestination");
  return describe(d, true);
};

const listApiDestinations: Operation = async (ctx, input) => {
  const prefix = optionalString(input, "NamePrefix", API_DESTINATION_NAME);
  const connectionArn = optionalString(input, "ConnectionArn", CONNECTION_ARN);
  const paging = pageOptions(input);
  ctx.authorize(
    "events:ListApiDestinations",
    `arn:aws:events:${ctx.region}:${ctx.caller.accountId}:api-destination/*`,
  );
  const page = await ctx.store.listApiDestinations(ctx.caller.accountId, {
    ...(prefix !== undefined && { prefix }),
    ...(connectionArn !== undefined && { connectionArn }),
    ...paging,
  });
  return {
    ApiDestinations: page.items.map((d) => describe(d, false)),
    ...nextTokenOf(page),
  };
};

const updateApiDestination: Operation = async (ctx, input) => {
  // The input is checked first, as EventBridge checks its constraints before it looks anything up.
  const name = requiredString(input, "Name", API_DESTINATION_NAME);
  const description = optionalString(input, "Description", { max: 512 });
  const connectionArn = optionalString(input, "ConnectionArn", CONNECTION_ARN);
  const endpoint = readEndpoint(input, false);
  const method = enumMember(input, "HttpMethod", API_DESTINATION_HTTP_METHODS, false);
  const rate = optionalInteger(input, "InvocationRateLimitPerSecond", 1, MAX_INVOCATION_RATE_LIMIT);
  const d = await existingDestination(ctx, name, "update", "events:UpdateApiDestination");
  const connection =
    connectionArn !== undefined
      ? await connectionByArn(ctx, connectionArn)
      : await findConnection(ctx, d.connectionArn);
  const { description: previous, ...base } = d;
  const updated: ApiDestination = {
    ...base,
    ...((description ?? previous) !== undefined && { description: description ?? previous }),
    ...(connectionArn !== undefined && { connectionArn }),
    ...(endpoint !== undefined && { invocationEndpoint: endpoint }),
    ...(method !== undefined && { httpMethod: method }),
    ...(rate !== undefined && { invocationRateLimitPerSecond: rate }),
    state: destinationState(connection),
    lastModifiedAt: Date.now(),
  };
  if (!(await ctx.store.updateApiDestination(updated))) {
    throw new ApiError(
      "ResourceNotFoundException",
      `Failed to update the api-destination(s). An api-destination '${d.name}' does not exist.`,
    );
  }
  ctx.apiDestinationsChanged(updated);
  return summary(updated);
};

const deleteApiDestination: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", API_DESTINATION_NAME);
  const d = await existingDestination(ctx, name, "delete", "events:DeleteApiDestination");
  await ctx.store.deleteApiDestination(d.accountId, d.name);
  ctx.apiDestinationsChanged();
  return {};
};

/** The API destination operations by name. */
export const apiDestinationOperations: Readonly<Record<string, Operation>> = {
  CreateApiDestination: createApiDestination,
  DescribeApiDestination: describeApiDestination,
  ListApiDestinations: listApiDestinations,
  UpdateApiDestination: updateApiDestination,
  DeleteApiDestination: deleteApiDestination,
};
