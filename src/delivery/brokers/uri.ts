/**
 * Broker target URIs: parsing into a typed {@link BrokerTarget}, the reasons a URI is refused, and
 * redaction for logs. The forms are documented in index.ts and docs/targets-brokers.md.
 * @see https://www.rabbitmq.com/docs/uri-spec (the AMQP path is the virtual host)
 * @see https://www.iana.org/assignments/uri-schemes/prov/redis (the Redis path is the database number)
 */

/** Default ports, by scheme. */
export const DEFAULT_PORTS = {
  nats: 4222,
  amqp: 5672,
  amqps: 5671,
  mqtt: 1883,
  mqtts: 8883,
  redis: 6379,
  rediss: 6379,
} as const;

/** A URI scheme the broker invokers accept. */
export type BrokerScheme = keyof typeof DEFAULT_PORTS;

/** Where and as whom to connect: what every broker target has. */
interface TargetBase {
  /** The URI with its password, token or token-as-user replaced by `***`. */
  readonly display: string;
  /** Identifies the pooled connection: endpoint, credentials and connection options, not the destination. */
  readonly poolKey: string;
  /** Strings that must never appear in an error message (password, token). */
  readonly secrets: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** `nats://[user:pass@ | token@]host[:port]/<subject>[?jetstream=true][&token=…][&tls=true]` */
export interface NatsTarget extends TargetBase {
  readonly kind: "nats";
  readonly subject: string;
  readonly jetstream: boolean;
  readonly token: string | undefined;
}

/** `amqp[s]://[user:pass@]host[:port][/<vhost>]?exchange=<x>&routingKey=<k>[&mandatory=false]` */
export interface AmqpTarget extends TargetBase {
  readonly kind: "amqp";
  readonly vhost: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
}

/** `mqtt[s]://[user:pass@]host[:port]/<topic>[?qos=0|1][&retain=true][&protocolVersion=4|5]` */
export interface MqttTarget extends TargetBase {
  readonly kind: "mqtt";
  readonly topic: string;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  readonly protocolVersion: 4 | 5;
}

/** `redis[s]://[[user]:pass@]host[:port][/<db>]?stream=<key>[&maxlen=<n>]` */
export interface RedisTarget extends TargetBase {
  readonly kind: "redis";
  readonly db: number;
  readonly stream: string;
  readonly maxLen: number | undefined;
}

/** A parsed broker target URI. */
export type BrokerTarget = NatsTarget | AmqpTarget | MqttTarget | RedisTarget;

/** A URI that is not a valid broker target; the message names the part and the rule it broke. */
export class BrokerUriError extends Error {
  override readonly name = "BrokerUriError";
}

const QUERY_PARAMETERS: Readonly<Record<BrokerTarget["kind"], readonly string[]>> = {
  nats: ["jetstream", "token", "tls"],
  amqp: ["exchange", "routingKey", "mandatory"],
  mqtt: ["qos", "retain", "protocolVersion"],
  redis: ["stream", "maxlen"],
};

const SECRET_PARAMETERS = ["token", "password"];

/** The longest AMQP exchange name or routing key (a short string). */
const AMQP_SHORTSTR_BYTES = 255;
/** The longest MQTT topic name, in UTF-8 bytes. */
const MQTT_TOPIC_BYTES = 65_535;

/**
 * Why `uri` is not a valid broker target, or `undefined` when it is. PutTargets uses it to refuse a
 * target before any event is routed to it. The reason never contains the URI's password or token.
 */
export function checkBrokerUri(uri: string): string | undefined {
  try {
    parseBrokerUri(uri);
    return undefined;
  } catch (error) {
    if (error instanceof BrokerUriError) return error.message;
    throw error;
  }
}

/** Whether `uri` has one of the broker schemes (nats, amqp, amqps, mqtt, mqtts, redis, rediss). */
export function isBrokerUri(uri: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  return scheme !== undefined && Object.hasOwn(DEFAULT_PORTS, scheme);
}

/**
 * `uri` for logs: the userinfo password (and, for NATS, a token given as the user) and the `token` or
 * `password` query parameters replaced by `***`. Works on text that is not a valid URI too.
 */
export function redactUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // Unparsable: a password may hold "/", "?" or "#" unencoded, so everything up to the last "@"
    // goes (more than the password at times, never less).
    return uri.replace(/\/\/.*@/, "//***@").replace(/([?&](?:token|password)=)[^&#]*/gi, "$1***");
  }
  if (url.password !== "") url.password = "***";
  else if (url.username !== "" && url.protocol === "nats:") url.username = "***";
  for (const name of SECRET_PARAMETERS) {
    if (url.searchParams.has(name)) url.searchParams.set(name, "***");
  }
  return url.href;
}

/**
 * Parses a broker target URI.
 * @throws {BrokerUriError} when it is not a valid broker target.
 */
export function parseBrokerUri(uri: string): BrokerTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new BrokerUriError(`${redactUri(uri)} is not a valid URI`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!Object.hasOwn(DEFAULT_PORTS, scheme)) {
    throw new BrokerUriError(
      `scheme ${scheme}: is not a broker scheme (nats, amqp, amqps, mqtt, mqtts, redis, rediss)`,
    );
  }
  const display = redactUri(uri);
  function fail(rule: string): never {
    throw new BrokerUriError(`${display}: ${rule}`);
  }
  const kind = kindOf(scheme as BrokerScheme);
  const query = readQuery(url, QUERY_PARAMETERS[kind], fail);
  if (uri.includes("#")) fail("a broker URI has no #fragment (write # in a name as %23)");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") fail("the host is missing");
  const port = url.port === "" ? DEFAULT_PORTS[scheme as BrokerScheme] : Number(url.port);
  if (port === 0) fail("port 0 is not a port a broker listens on");
  const username = url.username === "" ? undefined : decode(url.username, "the user name", fail);
  const password = url.password === "" ? undefined : decode(url.password, "the password", fail);
  const path = decode(url.pathname.slice(1), "the path", fail);
  const base = { display, host, port, username, password };
  const endpoint = (...extra: unknown[]): string =>
    JSON.stringify([scheme, host, port, username, password, ...extra]);

  switch (kind) {
    case "nats": {
      // As in the other NATS clients, a user name without a password is a token.
      const userToken = password === undefined ? username : undefined;
      if (userToken !== undefined && query.token !== undefined) {
        fail("give the token either as the user name or as ?token=, not both");
      }
      const token = query.token ?? userToken;
      const tls = readBoolean(query, "tls", false, fail);
      return {
        kind,
        ...base,
        username: userToken === undefined ? username : undefined,
        token,
        tls,
        secrets: secretsOf(password, token),
        poolKey: endpoint(token, tls),
        subject: checkSubject(path, fail),
        jetstream: readBoolean(query, "jetstream", false, fail),
      };
    }
    case "amqp": {
      // The path is the virtual host (RabbitMQ's URI spec); none, "/" or "%2F" is the default "/".
      // One segment: a "/" in a virtual host's name is written %2F.
      if (url.pathname.slice(1).includes("/")) {
        fail("the path is the virtual host, one segment (write / in its name as %2F)");
      }
      const vhost = path === "" ? "/" : path;
      const exchange = query.exchange ?? "";
      const routingKey = query.routingKey ?? "";
      if (exchange === "" && routingKey === "") {
        fail("give ?exchange= (and usually &routingKey=), or ?routingKey=<queue> for the default exchange");
      }
      if (Buffer.byteLength(exchange) > AMQP_SHORTSTR_BYTES) fail("exchange is over 255 bytes");
      if (Buffer.byteLength(routingKey) > AMQP_SHORTSTR_BYTES) fail("routingKey is over 255 bytes");
      const tls = scheme === "amqps";
      return {
        kind,
        ...base,
        tls,
        secrets: secretsOf(password),
        poolKey: endpoint(vhost),
        vhost,
        exchange,
        routingKey,
        mandatory: readBoolean(query, "mandatory", true, fail),
      };
    }
    case "mqtt": {
      const qos = query.qos ?? "1";
      if (qos !== "0" && qos !== "1") fail("qos must be 0 or 1");
      const version = query.protocolVersion ?? "5";
      if (version !== "4" && version !== "5") fail("protocolVersion must be 4 (MQTT 3.1.1) or 5");
      const protocolVersion = version === "4" ? 4 : 5;
      return {
        kind,
        ...base,
        tls: scheme === "mqtts",
        secrets: secretsOf(password),
        poolKey: endpoint(protocolVersion),
        topic: checkTopic(path, fail),
        qos: qos === "0" ? 0 : 1,
        retain: readBoolean(query, "retain", false, fail),
        protocolVersion,
      };
    }
    case "redis": {
      if (!/^\d*$/.test(path) || Number(path) > 2 ** 31 - 1) {
        fail("the path is the database number, a non-negative integer (the stream goes in ?stream=)");
      }
      const db = Number(path);
      const stream = query.stream ?? "";
      if (stream === "") fail("?stream=<key> is required");
      let maxLen: number | undefined;
      if (query.maxlen !== undefined) {
        maxLen = Number(query.maxlen);
        if (!/^\d+$/.test(query.maxlen) || maxLen < 1 || !Number.isSafeInteger(maxLen)) {
          fail("maxlen must be a positive integer");
        }
      }
      return {
        kind,
        ...base,
        tls: scheme === "rediss",
        secrets: secretsOf(password),
        poolKey: endpoint(db),
        db,
        stream,
        maxLen,
      };
    }
  }
}

function kindOf(scheme: BrokerScheme): BrokerTarget["kind"] {
  switch (scheme) {
    case "nats":
      return "nats";
    case "amqp":
    case "amqps":
      return "amqp";
    case "mqtt":
    case "mqtts":
      return "mqtt";
    case "redis":
    case "rediss":
      return "redis";
  }
}

function readQuery(
  url: URL,
  allowed: readonly string[],
  fail: (rule: string) => never,
): Partial<Record<string, string>> {
  const query: Partial<Record<string, string>> = {};
  // URLSearchParams takes a stray "%" as it is: a name or value that is not valid percent-encoding
  // is refused, as the path's and the user information's are.
  for (const part of url.search.slice(1).split("&")) {
    try {
      decodeURIComponent(part.replace(/\+/g, " "));
    } catch {
      fail("the query has an invalid percent-encoding (write % as %25)");
    }
  }
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) {
      fail(
        `unknown query parameter ${name} (allowed: ${allowed.length === 0 ? "none" : allowed.join(", ")})`,
      );
    }
    if (query[name] !== undefined) fail(`query parameter ${name} is given twice`);
    query[name] = value;
  }
  return query;
}

function readBoolean(
  query: Partial<Record<string, string>>,
  name: string,
  fallback: boolean,
  fail: (rule: string) => never,
): boolean {
  const value = query[name];
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  return fail(`${name} must be true or false`);
}

function decode(text: string, what: string, fail: (rule: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`${what} has an invalid percent-encoding`);
  }
}

/** A NATS subject to publish to: dot-separated non-empty tokens, no whitespace, no wildcard token. */
function checkSubject(subject: string, fail: (rule: string) => never): string {
  if (subject === "") fail("the subject is missing (nats://host:port/<subject>)");
  if (/\s/.test(subject)) fail("the subject must not contain whitespace");
  for (const token of subject.split(".")) {
    if (token === "") fail("the subject has an empty token (.. or a leading or trailing dot)");
    if (token === "*" || token === ">") fail("the subject must not contain a wildcard (* or >)");
  }
  return subject;
}

/** An MQTT topic name: non-empty, no wildcards, no U+0000, at most 65,535 UTF-8 bytes (MQTT 5, 4.7). */
function checkTopic(topic: string, fail: (rule: string) => never): string {
  if (topic === "") fail("the topic is missing (mqtt://host:port/<topic>)");
  if (/[+#]/.test(topic)) fail("the topic must not contain a wildcard (+ or #)");
  if (topic.includes("\u0000")) fail("the topic must not contain U+0000");
  if (Buffer.byteLength(topic) > MQTT_TOPIC_BYTES) fail("the topic is over 65,535 bytes");
  return topic;
}

function secretsOf(...values: Array<string | undefined>): string[] {
  const secrets: string[] = [];
  for (const value of values) {
    if (value === undefined || value === "") continue;
    secrets.push(value, encodeURIComponent(value));
  }
  return secrets;
}
