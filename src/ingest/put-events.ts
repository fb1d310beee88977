/**
 * PutEvents: per-entry validation and errors as EventBridge documents them, the event envelope,
 * matching against the bus's rules, and a durable commit of each accepted event with one pending
 * delivery per (matched rule, target) before the reply.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
import { DEFAULT_BUS, elsewhere, parseArn, type RuleMatch, type RuleRegistry } from "../buses/index.js";
import { MatchLimitExceededError, notJsonObject } from "../patterns/index.js";
import type { EventBus, IngestRecord, PendingDelivery, StoredEvent } from "../store/index.js";
import type { GroupCommitter } from "./group-commit.js";
import { uuidv7 } from "./ids.js";

/** Largest total size of a request's entries, computed the documented way. */
export const MAX_ENTRIES_SIZE = 256 * 1024;

/** One entry as given (already known to be an object). */
export type PutEventsEntry = Readonly<Record<string, unknown>>;

/** The result of one entry: an EventId, or an error code and message. */
export type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** What PutEvents needs from its surroundings. */
/** The values of an event put on a bus that a bus policy's conditions may test. */
export interface EventConditions {
  /** `events:source`. */
  readonly source: string;
  /** `events:detail-type`. */
  readonly detailType: string;
}

export interface PutEventsContext {
  readonly registry: RuleRegistry;
  readonly committer: GroupCommitter;
  readonly region: string;
  /** The calling account. */
  readonly accountId: string;
  /** Whether the caller may put an event of this source and detail-type on a bus (identity and bus resource policies). */
  readonly mayPut: (bus: EventBus, event: EventConditions) => boolean;
  readonly now?: () => number;
}

/** Thrown for request-level problems (before any entry is considered). */
export class PutEventsRequestError extends Error {
  override readonly name = "PutEventsRequestError";
}

const utf8 = (s: string): number => Buffer.byteLength(s, "utf8");

/** The documented size of an entry: Time 14 bytes, then the UTF-8 lengths of the text members. */
export function entrySize(entry: PutEventsEntry): number {
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  for (const k of ["Source", "DetailType", "Detail"] as const) {
    const v = entry[k];
    if (typeof v === "string") size += utf8(v);
  }
  if (Array.isArray(entry.Resources))
    for (const r of entry.Resources) if (typeof r === "string") size += utf8(r);
  return size;
}

const entryError = (code: string, message: string): EntryResult => ({
  ErrorCode: code,
  ErrorMessage: message,
});
const invalid = (name: string, reason: string): EntryResult =>
  entryError("InvalidArgument", `Parameter ${name} is not valid. Reason: ${reason}`);

let lastSecond = Number.NaN;
let lastTime = "";

/** ISO-8601 as EventBridge writes event times: seconds precision, `Z` (the last one is reused). */
function formatTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastTime = new Date(second * 1000).toISOString().replace(".000Z", "Z");
    lastSecond = second;
  }
  return lastTime;
}

/** The first millisecond of year 0000 and the last of year 9999: the times RFC 3339 can write. */
const EARLIEST_TIME_MS = Date.parse("0000-01-01T00:00:00.000Z");
const LATEST_TIME_MS = Date.parse("9999-12-31T23:59:59.999Z");

/** An ISO 8601 date and time without an offset (`2024-01-02T03:04:05`, or with a space). */
const ZONELESS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Reads an entry's Time: epoch seconds (the JSON protocol's timestamps) or a date string, within the
 * years 0000-9999 (an event's `time` is RFC 3339, whose years have four digits). A date and time
 * without an offset is UTC, as an event's `time` is, not the server's local time (Date.parse's).
 */
function entryTime(v: unknown, now: number): number | undefined {
  if (v === undefined || v === null) return now;
  let t = Number.NaN;
  if (typeof v === "number") t = v * 1000;
  else if (typeof v === "string") t = Date.parse(ZONELESS.test(v) ? `${v.replace(" ", "T")}Z` : v);
  return t >= EARLIEST_TIME_MS && t <= LATEST_TIME_MS ? t : undefined;
}

/**
 * Resolves EventBusName (a name or an ARN) to the bus's owner account and name, or says why it cannot
 * (an ARN of another region than the node's names a bus this endpoint does not serve).
 */
export function busOf(
  v: unknown,
  caller: string,
  region: string,
): { accountId: string; name: string } | string {
  if (v === undefined || v === null) return { accountId: caller, name: DEFAULT_BUS };
  if (typeof v !== "string" || v.length > 1600) return "EventBusName must be a name or an ARN";
  if (v === "") return "EventBusName must not be empty (leave it out for the default bus)";
  if (v.startsWith("arn:")) {
    const arn = parseArn(v);
    if (arn === undefined || arn.kind !== "event-bus") return `${v} is not an event bus ARN`;
    const away = elsewhere(arn, region);
    if (away !== undefined) return `${v} is an event bus of ${away}`;
    return { accountId: arn.accountId, name: arn.busName };
  }
  if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(v)) return `${v} is not a valid event bus name`;
  return { accountId: caller, name: v };
}

/**
 * Processes the entries of one PutEvents request; resolves with one result per entry, in order,
 * after every accepted entry is durable.
 *
 * Not an async function on purpose: while the commit is awaited, nothing holds on to `entries` (an
 * async function's suspended frame keeps its parameters), so only the records stay in memory. Under
 * load hundreds of requests wait for their commits, and whatever they hold survives young-generation
 * garbage collections and is copied by each one.
 */
export function putEvents(ctx: PutEventsContext, entries: readonly unknown[]): Promise<EntryResult[]> {
  let accepted: Accepted;
  try {
    accepted = acceptAll(ctx, entries);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  if (accepted.next < entries.length) return acceptRest(ctx, entries, accepted);
  const { results, records } = accepted;
  return ctx.committer.commit(records).then(() => results);
}

/**
 * Matching steps (see `Matcher.steps`) after which the entries left of a request wait for a turn of
 * the event loop: each may take up to `MAX_MATCH_STEPS` (a few hundred milliseconds against hostile
 * rules), and ten back to back held every other request of every account for seconds.
 */
export const YIELD_AFTER_MATCH_STEPS = 200_000;

/** The entries of a request after its first expensive ones, each batch in a turn of its own. */
async function acceptRest(
  ctx: PutEventsContext,
  entries: readonly unknown[],
  accepted: Accepted,
): Promise<EntryResult[]> {
  let next = accepted;
  while (next.next < entries.length) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    next = acceptFrom(ctx, entries, next);
  }
  await ctx.committer.commit(next.records);
  return next.results;
}

/** Each entry's result, and the records of those accepted, up to entry `next`. */
interface Accepted {
  readonly results: EntryResult[];
  readonly records: IngestRecord[];
  /** The first entry not yet considered (all of them: the request's length). */
  readonly next: number;
  readonly now: number;
}

function acceptAll(ctx: PutEventsContext, entries: readonly unknown[]): Accepted {
  const now = ctx.now?.() ?? Date.now();
  let total = 0;
  for (const e of entries) if (e !== null && typeof e === "object") total += entrySize(e as PutEventsEntry);
  if (total > MAX_ENTRIES_SIZE) {
    throw new PutEventsRequestError("Total size of the entries in the request is over the limit.");
  }
  // "If you submit a request in which none of the entries have each of these properties, EventBridge
  // fails the entire request" (PutEventsRequestEntry: Source, DetailType, Detail).
  if (entries.length > 0 && !entries.some(hasRequiredMembers)) {
    throw new PutEventsRequestError(
      "No entry has all of Source, DetailType and Detail: at least one entry of a request must have them.",
    );
  }
  return acceptFrom(ctx, entries, { results: [], records: [], next: 0, now });
}

/**
 * Considers the entries from `from.next` on, until the last, or until their matching took more than
 * {@link YIELD_AFTER_MATCH_STEPS} steps.
 */
function acceptFrom(ctx: PutEventsContext, entries: readonly unknown[], from: Accepted): Accepted {
  const { results, records, now } = from;
  const start = ctx.registry.matchSteps;
  let index = from.next;
  while (index < entries.length && ctx.registry.matchSteps - start <= YIELD_AFTER_MATCH_STEPS) {
    const r = acceptEntry(ctx, entries[index], now);
    if ("ErrorCode" in r) results[index] = r;
    else {
      results[index] = { EventId: r.event.id };
      records.push(r);
    }
    index++;
  }
  return { results, records, next: index, now };
}

/** Whether an entry has each of the members EventBridge requires (whatever their values are worth). */
function hasRequiredMembers(raw: unknown): boolean {
  if (raw === null || typeof raw !== "object") return false;
  const { Source, DetailType, Detail } = raw as PutEventsEntry;
  return [Source, DetailType, Detail].every((m) => typeof m === "string" && m.length > 0);
}

function acceptEntry(
  ctx: PutEventsContext,
  raw: unknown,
  now: number,
): IngestRecord | (EntryResult & { ErrorCode: string }) {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return entryError("InvalidArgument", "Entry is not a structure.") as EntryResult & { ErrorCode: string };
  }
  const e = raw as PutEventsEntry;
  const fail = (r: EntryResult): EntryResult & { ErrorCode: string } =>
    r as EntryResult & { ErrorCode: string };
  const {
    Source: source,
    DetailType: detailType,
    Detail: detail,
    Resources: resources,
    TraceHeader: trace,
  } = e;
  if (source === undefined || source === null || source === "")
    return fail(invalid("Source", "Source is a required argument."));
  if (typeof source !== "string") return fail(invalid("Source", "Source must be a string."));
  if (source.length > 256) return fail(invalid("Source", "Source exceeds 256 characters."));
  if (source.startsWith("aws."))
    return fail(entryError("NotAuthorizedForSourceException", "Not authorized for the source."));
  if (detailType === undefined || detailType === null || detailType === "") {
    return fail(invalid("DetailType", "DetailType is a required argument."));
  }
  if (typeof detailType !== "string") return fail(invalid("DetailType", "DetailType must be a string."));
  if (detailType.length > 128) return fail(invalid("DetailType", "DetailType exceeds 128 characters."));
  if (detail === undefined || detail === null || detail === "")
    return fail(invalid("Detail", "Detail is a required argument."));
  if (typeof detail !== "string")
    return fail(invalid("Detail", "Detail must be a string: the text of a JSON object."));
  // Checked without being parsed into objects: it goes into the envelope as given.
  // At depth 1: the envelope nests it one level deeper, within the same limit.
  const malformed = notJsonObject(detail, 1);
  if (malformed !== undefined)
    return fail(entryError("MalformedDetail", `Detail is malformed: ${malformed}.`));
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources) || resources.length > 100) {
      return fail(invalid("Resources", "Resources must be a list of at most 100 strings."));
    }
    if (!resources.every((r) => typeof r === "string" && r.length <= 2048)) {
      return fail(invalid("Resources", "each resource must be a string of at most 2048 characters."));
    }
  }
  if (
    trace !== undefined &&
    trace !== null &&
    (typeof trace !== "string" || trace.length < 1 || trace.length > 500)
  ) {
    return fail(invalid("TraceHeader", "TraceHeader must be 1 to 500 characters."));
  }
  const time = entryTime(e.Time, now);
  if (time === undefined) return fail(invalid("Time", "Time must be a timestamp in the years 0000 to 9999."));
  const target = busOf(e.EventBusName, ctx.accountId, ctx.region);
  if (typeof target === "string") return fail(invalid("EventBusName", target));
  const bus = ctx.registry.getBus(target.accountId, target.name);
  if (bus === undefined) {
    // Another account's bus that does not exist is refused as one the caller may not use, so that
    // whether it exists is not told to someone who could not use it anyway.
    if (target.accountId !== ctx.accountId) {
      const arn = `arn:aws:events:${ctx.region}:${target.accountId}:event-bus/${target.name}`;
      return fail(entryError("AccessDeniedException", `Not authorized to put events on event bus ${arn}.`));
    }
    return fail(entryError("ResourceNotFoundException", `Event bus ${target.name} does not exist.`));
  }
  if (!ctx.mayPut(bus, { source, detailType })) {
    return fail(entryError("AccessDeniedException", `Not authorized to put events on event bus ${bus.arn}.`));
  }
  const id = uuidv7(now);
  const json =
    `{"version":"0","id":"${id}","detail-type":${JSON.stringify(detailType)},"source":${JSON.stringify(source)},` +
    `"account":"${ctx.accountId}","time":"${formatTime(time)}","region":"${ctx.region}",` +
    `"resources":${JSON.stringify(resources ?? [])},"detail":${detail}}`;
  let matches;
  try {
    // The envelope is valid JSON: its parts were checked above, Detail with notJsonObject.
    matches = ctx.registry.match(bus.accountId, bus.name, json, true);
  } catch (e) {
    // Refused rather than accepted unmatched: the producer learns it, and nothing is lost silently.
    if (e instanceof MatchLimitExceededError) return fail(entryError("InvalidArgument", e.message));
    throw e;
  }
  return recordOf(
    bus,
    { id, accountId: bus.accountId, busName: bus.name, time, ingestedAt: now, json },
    matches,
    now,
  );
}

/** The record of an event accepted onto a bus: the event and one pending delivery per (rule, target). */
function recordOf(
  bus: EventBus,
  event: StoredEvent,
  matches: readonly RuleMatch[],
  now: number,
): IngestRecord {
  const deliveries: PendingDelivery[] = [];
  for (const m of matches) {
    for (const targetId of m.targetIds) {
      deliveries.push({
        id: uuidv7(now),
        eventId: event.id,
        accountId: bus.accountId,
        busName: bus.name,
        ruleName: m.ruleName,
        targetId,
        dueAt: now,
        attempts: 0,
      });
    }
  }
  return { event, deliveries };
}

/**
 * The record of an event a rule sends on to another bus (an event bus target): the same envelope
 * under a new id (ids are unique in the event log), matched against that bus's rules. As in
 * EventBridge, an event that reached a bus from another bus goes no further to a third bus: targets
 * of the matched rules that are event buses get no delivery of it, which also ends any loop of buses.
 * Those targets are added to `cut` (EventBridge counts them in DeadLetterInvocations).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 * @throws {InvalidEventJsonError} when the envelope cannot be matched (it was matched once already).
 */
export function forwardedRecord(
  registry: RuleRegistry,
  bus: EventBus,
  event: StoredEvent,
  now: number,
  cut: Array<{ readonly ruleName: string; readonly targetId: string }> = [],
): IngestRecord {
  const id = uuidv7(now);
  const prefix = `{"version":"0","id":"${event.id}"`;
  const json = event.json.startsWith(prefix)
    ? `{"version":"0","id":"${id}"${event.json.slice(prefix.length)}`
    : JSON.stringify({ ...(JSON.parse(event.json) as Record<string, unknown>), id });
  const matches = registry.match(bus.accountId, bus.name, json, true).map((m) => {
    const targets = registry.getRule(bus.accountId, bus.name, m.ruleName)?.targets;
    const targetIds = m.targetIds.filter((t) => {
      if (parseArn(targets?.get(t)?.arn ?? "")?.kind !== "event-bus") return true;
      cut.push({ ruleName: m.ruleName, targetId: t });
      return false;
    });
    return targetIds.length === m.targetIds.length ? m : { ...m, targetIds };
  });
  return recordOf(
    bus,
    { ...event, id, accountId: bus.accountId, busName: bus.name, ingestedAt: now, json },
    matches,
    now,
  );
}
