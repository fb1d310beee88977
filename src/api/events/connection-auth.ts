/**
 * The AuthParameters of a connection: reading them from CreateConnection and UpdateConnection (every
 * member checked against the EventBridge API reference's constraints), merging an update into the
 * stored ones, and the view DescribeConnection gives, which holds no secret.
 *
 * Secrets are Password, ApiKeyValue, ClientSecret and the Value of every HTTP parameter whose
 * IsValueSecret is true or absent. Validation errors never quote a secret.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnectionAuthRequestParameters.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ConnectionAuthResponseParameters.html
 */
import { isReservedHeader, shownTargetArn } from "../../delivery/index.js";
import type { ConnectionAuthorizationType } from "../../store/index.js";
import { ApiError } from "../errors.js";
import { clip, structureAt, type Input, type StringRule } from "../input.js";

/** The authorization types of CreateConnection. */
export const AUTHORIZATION_TYPES: readonly ConnectionAuthorizationType[] = [
  "BASIC",
  "OAUTH_CLIENT_CREDENTIALS",
  "API_KEY",
];

/** The HTTP methods of an OAuth token request. */
export const OAUTH_HTTP_METHODS = ["GET", "POST", "PUT"] as const;

/** Most parameters in each list of ConnectionHttpParameters. */
export const MAX_HTTP_PARAMETERS = 100;

/** Usernames, passwords, API key names and values, client ids and secrets (AuthHeaderParameters). */
const AUTH_HEADER: StringRule = {
  min: 1,
  max: 512,
  // eslint-disable-next-line no-control-regex -- the API reference's pattern: no control characters
  pattern: /^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$/,
};
/** Endpoints (HttpsEndpoint): the pattern of the API reference; the scheme is checked apart. */
export const ENDPOINT: StringRule = {
  min: 1,
  max: 2048,
  pattern: /^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@&=+$,A-Za-z0-9])+)([).!';/?:,])?$/,
};

/** Key and Value rules of each kind of HTTP parameter (a target's HttpParameters share those of headers and query strings). */
export const HTTP_PARAMETER_RULES = {
  HeaderParameters: {
    key: { max: 512, pattern: /^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$/ },
    value: { max: 512, pattern: /^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$/ },
  },
  QueryStringParameters: {
    // eslint-disable-next-line no-control-regex -- the API reference's pattern: no control characters
    key: { max: 512, pattern: /^[^\x00-\x1F\x7F]+$/ },
    // eslint-disable-next-line no-control-regex -- the API reference's pattern: no control characters
    value: { max: 512, pattern: /^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+$/ },
  },
  BodyParameters: { key: {}, value: {} },
} as const satisfies Record<string, { key: StringRule; value: StringRule }>;
type HttpParameterList = keyof typeof HTTP_PARAMETER_RULES;
const HTTP_PARAMETER_LISTS = Object.keys(HTTP_PARAMETER_RULES) as HttpParameterList[];

/** One additional header, query string or body parameter. Stored with an explicit IsValueSecret. */
export interface HttpParameter {
  readonly Key: string;
  /** Absent only for a secret parameter of a deauthorized connection (or in the public view). */
  readonly Value?: string;
  readonly IsValueSecret: boolean;
}

/** ConnectionHttpParameters. */
export type HttpParameters = { readonly [L in HttpParameterList]?: readonly HttpParameter[] };

/** AuthParameters as stored (sealed): the AWS shape, secrets included. */
export interface StoredAuthParameters {
  readonly BasicAuthParameters?: { readonly Username?: string; readonly Password?: string };
  readonly ApiKeyAuthParameters?: { readonly ApiKeyName?: string; readonly ApiKeyValue?: string };
  readonly OAuthParameters?: {
    readonly ClientParameters?: { readonly ClientID?: string; readonly ClientSecret?: string };
    readonly AuthorizationEndpoint?: string;
    readonly HttpMethod?: string;
    readonly OAuthHttpParameters?: HttpParameters;
  };
  readonly InvocationHttpParameters?: HttpParameters;
}

/** The member of AuthParameters that holds the parameters of each authorization type. */
const TYPE_MEMBER = {
  BASIC: "BasicAuthParameters",
  API_KEY: "ApiKeyAuthParameters",
  OAUTH_CLIENT_CREDENTIALS: "OAuthParameters",
} as const satisfies Record<ConnectionAuthorizationType, keyof StoredAuthParameters>;

function lower(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** `path.member` in the lower camel case of validation messages (`authParameters.basicAuthParameters`). */
function memberPath(path: string, name: string): string {
  return path === "" ? lower(name) : `${path}.${lower(name)}`;
}

function validation(message: string): ApiError {
  return new ApiError("ValidationException", `1 validation error detected: ${message}`);
}

/** A string member at `path` (for messages), checked against `rule`; a secret value is never quoted. */
function readString(
  obj: Input,
  name: string,
  path: string,
  rule: StringRule,
  options: { required: boolean; secret?: boolean },
): string | undefined {
  const v = obj[name];
  const at = memberPath(path, name);
  if (v === undefined || v === null) {
    if (options.required)
      throw validation(`Value null at '${at}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== "string") throw new ApiError("SerializationException", `${at} must be a string`);
  const shown = options.secret === true ? "Value" : `Value '${clip(v)}'`;
  const { min = 0, max = Infinity, pattern } = rule;
  if (v.length < min)
    throw validation(
      `${shown} at '${at}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  if (v.length > max)
    throw validation(
      `${shown} at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  if (pattern !== undefined && !pattern.test(v))
    throw validation(
      `${shown} at '${at}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`,
    );
  return v;
}

function readObject(obj: Input, name: string, path: string, required: boolean): Input | undefined {
  const v = obj[name];
  const at = memberPath(path, name);
  if (v === undefined || v === null) {
    if (required)
      throw validation(`Value null at '${at}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  return structureAt(v, at);
}

/**
 * Checks an endpoint beyond the API reference's pattern: an http or https URL with a host, which the
 * delivery engine can call as written. Refused: an empty authority (`https:///x`, which URL parsers
 * would read as host `x`), a `*` in the host (only path wildcards are filled), port 0, and user
 * information (`user:password@`), which calls never send and answers would show.
 */
export function checkEndpoint(value: string, at: string): string {
  const reason = endpointProblem(value);
  if (reason !== undefined)
    throw new ApiError("ValidationException", `Parameter ${at} is not valid. Reason: ${reason}`);
  return value;
}

/** What is wrong with an endpoint, in words that never quote user information; none when it is usable. */
function endpointProblem(value: string): string | undefined {
  const authority = /^https?:\/\/([^/?#]*)/i.exec(value)?.[1];
  if (authority?.includes("@") === true)
    return "the URL has user information (user:password@); give credentials in the connection instead.";
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // (Named as logs name a webhook: query values, which may hold a token, as ***.)
  if (url === undefined || authority === undefined || authority === "" || url.hostname === "")
    return `${shownTargetArn(value)} is not an http or https URL with a host.`;
  if (url.hostname.includes("*"))
    return `the host ${url.hostname} has a * wildcard; only the path's * wildcards are filled (by the target's PathParameterValues).`;
  if (url.port === "0") return `${shownTargetArn(value)} has port 0.`;
  return undefined;
}

/** An HTTP header name: a token (RFC 9110 §5.6.2). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An HTTP header value a call can carry: tab, printable ASCII and Latin-1 (obs-text), no other control. */
const HEADER_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;

/**
 * Why calls cannot carry a header of this name, said of it ("… is not an HTTP header name"): one that
 * is not an HTTP token (a space, a comma), which every call would fail to send, or one the HTTP client
 * sets itself or that is hop-by-hop (Host, Content-Length, Connection…), which delivery would leave
 * out, the call going without what was meant to be sent; undefined when they can.
 */
export function headerNameProblem(name: string): string | undefined {
  return !HEADER_NAME.test(name)
    ? "is not an HTTP header name (a token: letters, digits and !#$%&'*+.^_`|~-)."
    : isReservedHeader(name)
      ? "is a header Busbar cannot send with a call (the HTTP client sets it, or it is hop-by-hop)."
      : undefined;
}

/** Refuses a header name that calls cannot carry (see {@link headerNameProblem}). */
function refuseReservedHeader(name: string, member: string): void {
  const problem = headerNameProblem(name);
  if (problem === undefined) return;
  const shown = HEADER_NAME.test(name) ? name : JSON.stringify(name);
  throw new ApiError("ValidationException", `Parameter ${member} is not valid. Reason: ${shown} ${problem}`);
}

/** Refuses the header parameters whose names calls cannot carry (their values' rule is ASCII already). */
function refuseUnsendableHeaders(parameters: HttpParameters | undefined, member: string): void {
  for (const { Key } of parameters?.HeaderParameters ?? []) refuseReservedHeader(Key, member);
}

/**
 * Refuses a header value that calls cannot carry, without quoting it (it may be a secret): characters
 * past Latin-1 (an HTTP header is bytes) or controls.
 */
function refuseUnsendableValue(value: string, member: string): void {
  if (!HEADER_VALUE.test(value))
    throw new ApiError(
      "ValidationException",
      `Parameter ${member} is not valid. Reason: the value holds characters an HTTP header cannot carry (only tab, printable ASCII and Latin-1 letters; no other control character).`,
    );
}

function readHttpParameters(obj: Input, name: string, path: string): HttpParameters | undefined {
  const http = readObject(obj, name, path, false);
  if (http === undefined) return undefined;
  const at = memberPath(path, name);
  const result: Record<string, HttpParameter[]> = {};
  for (const list of HTTP_PARAMETER_LISTS) {
    const raw = http[list];
    if (raw === undefined || raw === null) continue;
    if (!Array.isArray(raw))
      throw new ApiError("SerializationException", `${at}.${lower(list)} must be a list`);
    if (raw.length > MAX_HTTP_PARAMETERS) {
      throw validation(
        `Value at '${at}.${lower(list)}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_HTTP_PARAMETERS}`,
      );
    }
    const rules = HTTP_PARAMETER_RULES[list];
    result[list] = raw.map((p: unknown, i) => {
      const itemAt = `${at}.${lower(list)}.${i + 1}.member`;
      const param = structureAt(p, itemAt);
      const secretFlag = param.IsValueSecret;
      if (secretFlag !== undefined && secretFlag !== null && typeof secretFlag !== "boolean")
        throw new ApiError("SerializationException", `${itemAt}.isValueSecret must be a boolean`);
      // An absent IsValueSecret counts as secret: a value is never echoed unless the caller said so.
      const secret = secretFlag !== false;
      const key = readString(param, "Key", itemAt, rules.key, { required: true }) as string;
      const value = readString(param, "Value", itemAt, rules.value, { required: true, secret }) as string;
      return { Key: key, Value: value, IsValueSecret: secret };
    });
  }
  return result;
}

/** Connection names: `[\.\-_A-Za-z0-9]+`, 1–64. */
export const CONNECTION_NAME: StringRule = { min: 1, max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ };
/** Connection ARNs, as the API reference constrains them. */
export const CONNECTION_ARN: StringRule = {
  min: 1,
  max: 1600,
  pattern:
    /^arn:aws([a-z]|-)*:events:([a-z]|\d|-)*:([0-9]{12})?:connection\/[.\-_A-Za-z0-9]+\/[-A-Za-z0-9]+$/,
};

/** Reads an enumerated string member, answering as EventBridge does when it is not one of `allowed`. */
export function enumMember<T extends string>(
  input: Input,
  name: string,
  allowed: readonly T[],
  required: boolean,
): T | undefined {
  const v = readString(input, name, "", {}, { required });
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw validation(
      `Value '${v}' at '${lower(name)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(", ")}]`,
    );
  }
  return v as T;
}

/** Which parts an AuthParameters input must have: all of its type's (create) or any (update). */
type Mode = "create" | "update";

/** Reads an AuthParameters member (CreateConnectionAuthRequestParameters or its Update variant). */
export function readAuthParametersInput(input: Input, mode: Mode): StoredAuthParameters | undefined {
  const auth = readObject(input, "AuthParameters", "", mode === "create");
  if (auth === undefined) return undefined;
  const path = "authParameters";
  const required = mode === "create";
  if (auth.ConnectivityParameters !== undefined && auth.ConnectivityParameters !== null) {
    throw new ApiError(
      "ValidationException",
      "Parameter AuthParameters.ConnectivityParameters is not valid. Reason: private OAuth endpoints are not supported by Busbar.",
    );
  }
  const basic = readObject(auth, "BasicAuthParameters", path, false);
  const apiKey = readObject(auth, "ApiKeyAuthParameters", path, false);
  const oauth = readObject(auth, "OAuthParameters", path, false);
  const result: {
    -readonly [K in keyof StoredAuthParameters]: StoredAuthParameters[K];
  } = {};
  if (basic !== undefined) {
    const at = `${path}.basicAuthParameters`;
    const username = readString(basic, "Username", at, AUTH_HEADER, { required });
    const password = readString(basic, "Password", at, AUTH_HEADER, { required, secret: true });
    result.BasicAuthParameters = {
      ...(username !== undefined && { Username: username }),
      ...(password !== undefined && { Password: password }),
    };
  }
  if (apiKey !== undefined) {
    const at = `${path}.apiKeyAuthParameters`;
    const name = readString(apiKey, "ApiKeyName", at, AUTH_HEADER, { required });
    if (name !== undefined) refuseReservedHeader(name, "AuthParameters.ApiKeyAuthParameters.ApiKeyName");
    const value = readString(apiKey, "ApiKeyValue", at, AUTH_HEADER, { required, secret: true });
    if (value !== undefined) refuseUnsendableValue(value, "AuthParameters.ApiKeyAuthParameters.ApiKeyValue");
    result.ApiKeyAuthParameters = {
      ...(name !== undefined && { ApiKeyName: name }),
      ...(value !== undefined && { ApiKeyValue: value }),
    };
  }
  if (oauth !== undefined) {
    const at = `${path}.oAuthParameters`;
    const client = readObject(oauth, "ClientParameters", at, required);
    const clientAt = `${at}.clientParameters`;
    const clientId = client && readString(client, "ClientID", clientAt, AUTH_HEADER, { required });
    const clientSecret =
      client && readString(client, "ClientSecret", clientAt, AUTH_HEADER, { required, secret: true });
    const endpoint = readString(oauth, "AuthorizationEndpoint", at, ENDPOINT, { required });
    if (endpoint !== undefined)
      checkEndpoint(endpoint, "AuthParameters.OAuthParameters.AuthorizationEndpoint");
    const method = readString(oauth, "HttpMethod", at, {}, { required });
    if (method !== undefined && !(OAUTH_HTTP_METHODS as readonly string[]).includes(method)) {
      throw validation(
        `Value '${method}' at '${at}.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [${OAUTH_HTTP_METHODS.join(", ")}]`,
      );
    }
    const oauthHttp = readHttpParameters(oauth, "OAuthHttpParameters", at);
    refuseUnsendableHeaders(oauthHttp, "AuthParameters.OAuthParameters.OAuthHttpParameters.HeaderParameters");
    result.OAuthParameters = {
      ...(client !== undefined && {
        ClientParameters: {
          ...(clientId !== undefined && { ClientID: clientId }),
          ...(clientSecret !== undefined && { ClientSecret: clientSecret }),
        },
      }),
      ...(endpoint !== undefined && { AuthorizationEndpoint: endpoint }),
      ...(method !== undefined && { HttpMethod: method }),
      ...(oauthHttp !== undefined && { OAuthHttpParameters: oauthHttp }),
    };
  }
  const invocation = readHttpParameters(auth, "InvocationHttpParameters", path);
  refuseUnsendableHeaders(invocation, "AuthParameters.InvocationHttpParameters.HeaderParameters");
  if (invocation !== undefined) result.InvocationHttpParameters = invocation;
  return result;
}

/**
 * Throws when `auth` holds the parameters of another type than `type`, or (when `requireOwn`) lacks
 * those of `type`.
 */
export function checkAuthorizationType(
  type: ConnectionAuthorizationType,
  auth: StoredAuthParameters,
  requireOwn: boolean,
): void {
  const member = TYPE_MEMBER[type];
  for (const other of Object.values(TYPE_MEMBER)) {
    if (other !== member && auth[other] !== undefined) {
      throw new ApiError(
        "ValidationException",
        `Parameter AuthParameters.${other} is not valid. Reason: AuthParameters may hold only the parameters of AuthorizationType ${type} (${member}).`,
      );
    }
  }
  if (requireOwn && auth[member] === undefined) {
    throw new ApiError(
      "ValidationException",
      `Parameter AuthParameters.${member} is not valid. Reason: AuthorizationType ${type} requires ${member}.`,
    );
  }
}

/** What UpdateConnection must be given before it can authorize a connection again. */
export interface MissingMember {
  /** The member's path under AuthParameters (`BasicAuthParameters.Password`). */
  readonly member: string;
  /** Why it is needed and how to give it. */
  readonly reason: string;
}

const MISSING_AUTH_MEMBER =
  "the connection has none (it was deauthorized, or its AuthorizationType changed); give it to authorize the connection.";

/**
 * The first thing `auth` lacks to authorize a connection of `type`: a required member (its secrets
 * included), or else the value of an HTTP parameter that DeauthorizeConnection dropped. A parameter
 * without its value must never be sent (as an empty value, or at all), so the connection stays
 * unauthorized until its list is given again with the values.
 */
export function missingMember(
  type: ConnectionAuthorizationType,
  auth: StoredAuthParameters,
): MissingMember | undefined {
  const member = missingAuthMember(type, auth);
  if (member !== undefined) return { member, reason: MISSING_AUTH_MEMBER };
  const lists: [string, HttpParameters | undefined][] = [
    ["InvocationHttpParameters", auth.InvocationHttpParameters],
  ];
  if (type === "OAUTH_CLIENT_CREDENTIALS")
    lists.push(["OAuthParameters.OAuthHttpParameters", auth.OAuthParameters?.OAuthHttpParameters]);
  for (const [path, http] of lists) {
    const dropped = parameterWithoutValue(http);
    if (dropped === undefined) continue;
    return {
      member: `${path}.${dropped.list}`,
      reason: `the value of its parameter '${dropped.key}' was dropped when the connection was deauthorized; give the list again, with every value, to authorize the connection.`,
    };
  }
  return undefined;
}

/** The first parameter of `http` that has no value (a secret one of a deauthorized connection). */
function parameterWithoutValue(
  http: HttpParameters | undefined,
): { list: HttpParameterList; key: string } | undefined {
  for (const list of HTTP_PARAMETER_LISTS) {
    const param = http?.[list]?.find((p) => p.Value === undefined);
    if (param !== undefined) return { list, key: param.Key };
  }
  return undefined;
}

/** The first required member `auth` lacks for `type` (its secrets included), as a path; none when complete. */
function missingAuthMember(
  type: ConnectionAuthorizationType,
  auth: StoredAuthParameters,
): string | undefined {
  const need: [string, unknown][] =
    type === "BASIC"
      ? [
          ["BasicAuthParameters.Username", auth.BasicAuthParameters?.Username],
          ["BasicAuthParameters.Password", auth.BasicAuthParameters?.Password],
        ]
      : type === "API_KEY"
        ? [
            ["ApiKeyAuthParameters.ApiKeyName", auth.ApiKeyAuthParameters?.ApiKeyName],
            ["ApiKeyAuthParameters.ApiKeyValue", auth.ApiKeyAuthParameters?.ApiKeyValue],
          ]
        : [
            ["OAuthParameters.ClientParameters.ClientID", auth.OAuthParameters?.ClientParameters?.ClientID],
            [
              "OAuthParameters.ClientParameters.ClientSecret",
              auth.OAuthParameters?.ClientParameters?.ClientSecret,
            ],
            ["OAuthParameters.AuthorizationEndpoint", auth.OAuthParameters?.AuthorizationEndpoint],
            ["OAuthParameters.HttpMethod", auth.OAuthParameters?.HttpMethod],
          ];
  return need.find(([, v]) => v === undefined)?.[0];
}

/** Given lists replace the stored lists of the same name; the others are kept. */
function mergeHttp(
  stored: HttpParameters | undefined,
  given: HttpParameters | undefined,
): HttpParameters | undefined {
  if (given === undefined) return stored;
  return { ...stored, ...given };
}

/**
 * UpdateConnection: the stored AuthParameters with `given` merged in, member by member. Under a new
 * authorization type the old type's parameters are dropped; InvocationHttpParameters are kept.
 */
export function mergeAuthParameters(
  stored: StoredAuthParameters,
  storedType: ConnectionAuthorizationType,
  given: StoredAuthParameters,
  type: ConnectionAuthorizationType,
): StoredAuthParameters {
  const same = type === storedType;
  const base: StoredAuthParameters = same ? stored : {};
  const invocation = mergeHttp(stored.InvocationHttpParameters, given.InvocationHttpParameters);
  const result: StoredAuthParameters = {
    ...(type === "BASIC" && {
      BasicAuthParameters: { ...base.BasicAuthParameters, ...given.BasicAuthParameters },
    }),
    ...(type === "API_KEY" && {
      ApiKeyAuthParameters: { ...base.ApiKeyAuthParameters, ...given.ApiKeyAuthParameters },
    }),
    ...(type === "OAUTH_CLIENT_CREDENTIALS" && {
      OAuthParameters: (() => {
        const b = base.OAuthParameters;
        const g = given.OAuthParameters;
        const http = mergeHttp(b?.OAuthHttpParameters, g?.OAuthHttpParameters);
        const endpoint = g?.AuthorizationEndpoint ?? b?.AuthorizationEndpoint;
        const method = g?.HttpMethod ?? b?.HttpMethod;
        return {
          ClientParameters: { ...b?.ClientParameters, ...g?.ClientParameters },
          ...(endpoint !== undefined && { AuthorizationEndpoint: endpoint }),
          ...(method !== undefined && { HttpMethod: method }),
          ...(http !== undefined && { OAuthHttpParameters: http }),
        };
      })(),
    }),
    ...(invocation !== undefined && { InvocationHttpParameters: invocation }),
  };
  return result;
}

function publicHttp(http: HttpParameters): HttpParameters {
  const result: Record<string, HttpParameter[]> = {};
  for (const list of HTTP_PARAMETER_LISTS) {
    const params = http[list];
    if (params === undefined) continue;
    result[list] = params.map((p) =>
      p.IsValueSecret || p.Value === undefined
        ? { Key: p.Key, IsValueSecret: p.IsValueSecret }
        : { Key: p.Key, Value: p.Value, IsValueSecret: false },
    );
  }
  return result;
}

/**
 * The AuthParameters without their secrets, as DescribeConnection answers them: Username, ApiKeyName,
 * ClientID, AuthorizationEndpoint, HttpMethod, and the HTTP parameters with the values of secret ones
 * left out. A deauthorized connection keeps only this.
 */
export function publicAuthParameters(auth: StoredAuthParameters): StoredAuthParameters {
  const { BasicAuthParameters: basic, ApiKeyAuthParameters: apiKey, OAuthParameters: oauth } = auth;
  const invocation = auth.InvocationHttpParameters;
  return {
    ...(basic !== undefined && {
      BasicAuthParameters: { ...(basic.Username !== undefined && { Username: basic.Username }) },
    }),
    ...(apiKey !== undefined && {
      ApiKeyAuthParameters: { ...(apiKey.ApiKeyName !== undefined && { ApiKeyName: apiKey.ApiKeyName }) },
    }),
    ...(oauth !== undefined && {
      OAuthParameters: {
        ...(oauth.ClientParameters !== undefined && {
          ClientParameters: {
            ...(oauth.ClientParameters.ClientID !== undefined && {
              ClientID: oauth.ClientParameters.ClientID,
            }),
          },
        }),
        ...(oauth.AuthorizationEndpoint !== undefined && {
          AuthorizationEndpoint: oauth.AuthorizationEndpoint,
        }),
        ...(oauth.HttpMethod !== undefined && { HttpMethod: oauth.HttpMethod }),
        ...(oauth.OAuthHttpParameters !== undefined && {
          OAuthHttpParameters: publicHttp(oauth.OAuthHttpParameters),
        }),
      },
    }),
    ...(invocation !== undefined && { InvocationHttpParameters: publicHttp(invocation) }),
  };
}
