/**
 * Signed webhooks: targets whose ARN is an `http://` or `https://` URL receive the payload as a
 * POST signed as Standard Webhooks specifies, optionally as a CloudEvent.
 *
 * The URL's fragment selects CloudEvents (`#cloudevents=binary` or `#cloudevents=structured`) and is
 * never sent. Every request carries `webhook-id` (the delivery id, the same on every retry),
 * `webhook-timestamp` (seconds, at this attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`
 * of `id.timestamp.body`, one per active secret, space-separated, so that receivers keep verifying
 * while a secret rotates). Without any secret the request goes unsigned.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { createHmac } from "node:crypto";
import { DeliveryError, payloadContentType, type Invocation, type TargetInvoker } from "../types.js";
import { remember } from "./cache.js";
import { HttpErrorCode, describeUrl, errorForResponse, urlSecrets } from "./classify.js";
import { HttpClient, type HttpClientOptions } from "./client.js";
import type { CloudEventsMode } from "./cloudevents.js";
import { toCloudEventsMessage } from "./cloudevents.js";

/** Longest webhook URL (the longest target ARN EventBridge accepts). */
export const MAX_WEBHOOK_URL_LENGTH = 1600;

/** A webhook target's ARN, understood. */
export interface WebhookTarget {
  /** Where to POST (without the fragment). */
  readonly url: URL;
  /** CloudEvents content mode, when the fragment asks for one. */
  readonly cloudEvents?: CloudEventsMode;
}

/** Whether a target ARN is a webhook URL (rather than an AWS-style ARN). */
export function isWebhookArn(arn: string): boolean {
  return /^https?:\/\//i.test(arn);
}

/**
 * Checks a webhook URL for PutTargets: absolute `http`/`https`, at most 1600 characters, no user
 * name or password (secrets do not belong in ARNs), a fragment that is empty, `cloudevents=binary`
 * or `cloudevents=structured`. Addresses are checked when delivering, not here.
 * @returns what is wrong, or undefined when the URL is acceptable.
 */
export function checkWebhookUrl(url: string): string | undefined {
  const parsed = parseWebhookTarget(url);
  return typeof parsed === "string" ? parsed : undefined;
}

/** Parses a webhook target's ARN; a string is the reason it is not acceptable. */
export function parseWebhookTarget(arn: string): WebhookTarget | string {
  if (arn.length > MAX_WEBHOOK_URL_LENGTH)
    return `a webhook URL must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(arn);
  } catch {
    return "a webhook URL must be an absolute http or https URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "a webhook URL must use http or https";
  if (url.username !== "" || url.password !== "") {
    return "a webhook URL must not contain a user name or password";
  }
  const fragment = url.hash.slice(1);
  url.hash = "";
  if (fragment === "") return { url };
  const match = /^cloudevents=(binary|structured)$/.exec(fragment);
  if (match === null) {
    return "the fragment of a webhook URL can only be #cloudevents=binary or #cloudevents=structured";
  }
  return { url, cloudEvents: match[1] as CloudEventsMode };
}

/**
 * A webhook URL for logs, dead-letter messages and errors: the values of its query parameters (which
 * may hold a token) as `***`, without a user name or password, and a fragment other than the
 * CloudEvents mode as `#***`; the rest as it is. Text that is no URL (an ARN PutTargets refuses)
 * likewise: its credentials, and all after a `;`, `?` or `#`, as `***`.
 */
export function redactWebhookUrl(arn: string): string {
  let url: URL;
  try {
    url = new URL(arn);
  } catch {
    // Credentials up to the last @ (a password may hold a / or a ?), then all after a ; ? or #.
    return arn.replace(/^([^:/?#;@]*:\/*).*@/s, "$1***@").replace(/([;?#]).*$/s, "$1***");
  }
  const hash = url.hash === "" || /^#cloudevents=/.test(url.hash) ? url.hash : "#***";
  if (url.search === "" && url.username === "" && url.password === "" && hash === url.hash) return arn;
  const names = [...url.searchParams.keys()];
  const query = names.length === 0 ? "" : `?${names.map((n) => `${encodeURIComponent(n)}=***`).join("&")}`;
  // The scheme and host (without user name or password; `origin` is "null" for schemes other than
  // the web's).
  return `${url.protocol}//${url.host}${url.pathname}${query}${hash}`;
}

/** Options of {@link createWebhookInvoker}. */
export interface WebhookInvokerOptions extends HttpClientOptions {
  /**
   * The signing secrets (`whsec_<base64>`) active for the invocation's target, newest first; each
   * gives one signature. An empty list sends the request unsigned. A list given at once (known
   * secrets) saves the invocation a wait for a promise.
   */
  readonly signingSecrets: (invocation: Invocation) => readonly string[] | Promise<readonly string[]>;
  /** A client to share (the invoker then leaves it open on close); otherwise one is made from the options. */
  readonly client?: HttpClient;
}

const JSON_CONTENT: Readonly<Record<string, string>> = { "content-type": "application/json" };
const TEXT_CONTENT: Readonly<Record<string, string>> = { "content-type": "text/plain; charset=utf-8" };

/** The content-type header of a payload ({@link payloadContentType}). */
function contentOf(invocation: Invocation): Readonly<Record<string, string>> {
  return payloadContentType(invocation) === "application/json" ? JSON_CONTENT : TEXT_CONTENT;
}

/** The invoker of webhook targets. */
export function createWebhookInvoker(options: WebhookInvokerOptions): TargetInvoker {
  const client = options.client ?? new HttpClient(options);
  const owned = options.client === undefined;

  // Parsed once per target URL (with the name errors give it and what of it is secret) and signing
  // key once per secret: both are on every delivery's path.
  const targets = new Map<
    string,
    (WebhookTarget & { readonly what: string; readonly secrets: readonly string[] }) | string
  >();
  const keys = new Map<string, Buffer>();

  return {
    async invoke(invocation: Invocation, signal: AbortSignal): Promise<void> {
      let target = targets.get(invocation.target.arn);
      if (target === undefined) {
        const parsed = parseWebhookTarget(invocation.target.arn);
        target =
          typeof parsed === "string"
            ? parsed
            : { ...parsed, what: `POST ${describeUrl(parsed.url)}`, secrets: urlSecrets(parsed.url) };
        remember(targets, invocation.target.arn, target);
      }
      if (typeof target === "string") {
        throw new DeliveryError(HttpErrorCode.InvalidParameter, target, { retryable: false });
      }
      const { what } = target;
      const message =
        target.cloudEvents === undefined
          ? { headers: contentOf(invocation), body: invocation.payload }
          : toCloudEventsMessage(invocation.event.json, invocation.payload, target.cloudEvents);
      let secrets: readonly string[];
      try {
        const asked = options.signingSecrets(invocation);
        secrets = Array.isArray(asked) ? asked : await asked;
      } catch (error) {
        throw new DeliveryError(
          HttpErrorCode.InternalError,
          `${what}: the signing secrets could not be read`,
          {
            retryable: true,
            cause: error,
          },
        );
      }
      const headers: Record<string, string> = {
        ...message.headers,
        "webhook-id": invocation.deliveryId,
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      };
      if (secrets.length > 0) {
        try {
          headers["webhook-signature"] = secrets
            .map((secret) =>
              sign(
                signingKey(keys, secret),
                invocation.deliveryId,
                headers["webhook-timestamp"] as string,
                message.body,
              ),
            )
            .join(" ");
        } catch (error) {
          throw new DeliveryError(HttpErrorCode.InvalidParameter, `${what}: a signing secret is not valid`, {
            retryable: false,
            cause: error,
          });
        }
      }
      const response = await client.send(
        { method: "POST", url: target.url, headers, body: message.body, wanted: invocation.wanted },
        signal,
      );
      // An error page may echo the URL: its query values stay as hidden as in TARGET_ARN.
      const error = errorForResponse(response, what, Date.now(), target.secrets);
      if (error !== undefined) throw error;
    },
    async close(): Promise<void> {
      if (owned) await client.close();
    },
  };
}

/** The HMAC key of a `whsec_<base64>` secret (decoded once per secret). */
export function signingKey(keys: Map<string, Buffer>, secret: string): Buffer {
  let key = keys.get(secret);
  if (key === undefined) {
    if (!secret.startsWith("whsec_")) throw new Error("a signing secret starts with whsec_");
    const decoded = Buffer.from(secret.slice("whsec_".length), "base64");
    if (decoded.length === 0) throw new Error("a signing secret holds no key");
    // A buffer of its own: a small decoded one is a slice of Node's shared 8 KiB pool, which the cache
    // would keep whole (8 KiB per secret).
    key = Buffer.alloc(decoded.length);
    decoded.copy(key);
    remember(keys, secret, key);
  }
  return key;
}

/**
 * One Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`.
 * Computed with node:crypto rather than the `standardwebhooks` package, whose pure-JavaScript SHA-256
 * costs about 6 times as much per delivery; the tests verify every signature with that package.
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme
 */
function sign(key: Buffer, id: string, timestamp: string, body: string): string {
  // One update of the whole text: each update is a call into C++ (2.1 against 1.8 µs a signature).
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}
