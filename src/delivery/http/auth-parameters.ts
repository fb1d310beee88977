/**
 * A connection's AuthParameters (the CreateConnection structure, secrets in clear) read into what
 * an API destination call needs.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnectionAuthRequestParameters.html
 */
import type { ConnectionAuthorizationType } from "../../store/index.js";

/** Header, query string and body parameters, in order (ConnectionHttpParameters). */
export interface HttpParameterLists {
  readonly headers: readonly (readonly [string, string])[];
  readonly query: readonly (readonly [string, string])[];
  readonly body: readonly (readonly [string, string])[];
}

/** How calls through a connection are authorized. */
export type ConnectionAuth =
  | {
      readonly type: "BASIC";
      readonly username: string;
      readonly password: string;
      readonly invocation: HttpParameterLists;
    }
  | {
      readonly type: "API_KEY";
      readonly name: string;
      readonly value: string;
      readonly invocation: HttpParameterLists;
    }
  | {
      readonly type: "OAUTH_CLIENT_CREDENTIALS";
      readonly oauth: OAuthClientCredentials;
      readonly invocation: HttpParameterLists;
    };

/** The OAuthParameters of a connection. */
export interface OAuthClientCredentials {
  readonly authorizationEndpoint: string;
  /** GET, POST or PUT. */
  readonly httpMethod: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** OAuthHttpParameters: added to the token request. */
  readonly parameters: HttpParameterLists;
}

/**
 * Reads AuthParameters for a connection of `type`.
 * @returns the parameters, or what is missing (a message naming the member).
 */
export function parseConnectionAuth(
  type: ConnectionAuthorizationType,
  auth: Readonly<Record<string, unknown>>,
): ConnectionAuth | string {
  const invocation = parameterLists(record(auth["InvocationHttpParameters"]), "InvocationHttpParameters");
  if (typeof invocation === "string") return invocation;
  switch (type) {
    case "BASIC": {
      const basic = record(auth["BasicAuthParameters"]);
      const username = text(basic, "Username");
      const password = text(basic, "Password");
      if (username === undefined || password === undefined)
        return "BasicAuthParameters needs Username and Password";
      return { type, username, password, invocation };
    }
    case "API_KEY": {
      const key = record(auth["ApiKeyAuthParameters"]);
      const name = text(key, "ApiKeyName");
      const value = text(key, "ApiKeyValue");
      if (name === undefined || value === undefined)
        return "ApiKeyAuthParameters needs ApiKeyName and ApiKeyValue";
      return { type, name, value, invocation };
    }
    case "OAUTH_CLIENT_CREDENTIALS": {
      const oauth = record(auth["OAuthParameters"]);
      const client = record(oauth["ClientParameters"]);
      const authorizationEndpoint = text(oauth, "AuthorizationEndpoint");
      const clientId = text(client, "ClientID");
      const clientSecret = text(client, "ClientSecret");
      if (authorizationEndpoint === undefined || clientId === undefined || clientSecret === undefined) {
        return "OAuthParameters needs AuthorizationEndpoint and ClientParameters with ClientID and ClientSecret";
      }
      const httpMethod = (text(oauth, "HttpMethod") ?? "POST").toUpperCase();
      const parameters = parameterLists(record(oauth["OAuthHttpParameters"]), "OAuthHttpParameters");
      if (typeof parameters === "string") return parameters;
      return {
        type,
        oauth: { authorizationEndpoint, httpMethod, clientId, clientSecret, parameters },
        invocation,
      };
    }
  }
  return `authorization type ${String(type)} is not supported`;
}

/** The lists of ConnectionHttpParameters `parameters` (named `name` in messages), or what is wrong with them. */
function parameterLists(
  parameters: Readonly<Record<string, unknown>>,
  name: string,
): HttpParameterLists | string {
  const headers = pairs(parameters["HeaderParameters"], `${name}.HeaderParameters`);
  if (typeof headers === "string") return headers;
  const query = pairs(parameters["QueryStringParameters"], `${name}.QueryStringParameters`);
  if (typeof query === "string") return query;
  const body = pairs(parameters["BodyParameters"], `${name}.BodyParameters`);
  if (typeof body === "string") return body;
  return { headers, query, body };
}

/**
 * `[{Key, Value, IsValueSecret}]` as `[key, value]` pairs (entries without a string Key are skipped).
 * A parameter without a Value (its secret dropped by DeauthorizeConnection) is never sent, not even
 * empty: the connection cannot be used until it is given again, and the message says which.
 */
function pairs(list: unknown, name: string): (readonly [string, string])[] | string {
  if (!Array.isArray(list)) return [];
  const result: (readonly [string, string])[] = [];
  for (const item of list as unknown[]) {
    const entry = record(item);
    const key = text(entry, "Key");
    if (key === undefined) continue;
    const value = text(entry, "Value");
    if (value === undefined)
      return `${name} '${key}' has no value (it was dropped when the connection was deauthorized)`;
    result.push([key, value]);
  }
  return result;
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(from: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = from[key];
  return typeof value === "string" ? value : undefined;
}

/** HTTP Basic credentials as the `Authorization` header carries them after `Basic ` (RFC 7617). */
export function basicCredentials(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString("base64");
}
