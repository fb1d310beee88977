/**
 * Input transformation: what a target receives for an event, from the target's `Input`, `InputPath`
 * or `InputTransformer`. A target's transformation is compiled once ({@link compileTransform}) and the
 * compiled function runs for every delivery; template errors are found when compiling.
 *
 * - Neither field: the event envelope, the very string given (not parsed).
 * - `Input`: that JSON text, as given.
 * - `InputPath`: the minified JSON text of the value the path selects; a path that selects nothing
 *   throws {@link TransformError} (`INPUT_PATH_NOT_FOUND`).
 * - `InputTransformer`: `InputTemplate` with each `<variable>` replaced by the value of its
 *   `InputPathsMap` path, or by a predefined `aws.events.*` variable. A template whose first
 *   non-blank character is `{` is a JSON template: it must be valid JSON once each variable outside
 *   quotes stands for a value, no variable may be an object key, and the output is minified. A
 *   template starting with `[` or `"` that is valid JSON in the same sense is a JSON template too.
 *   Any other template is a string template, rendered as text (see {@link compileTransform}).
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
 */
import {
  EventTextError,
  JsonDocument,
  JsonPathSyntaxError,
  parseJsonPath,
  type JsonPath,
} from "./json-path.js";

/** What a transformation may refer to besides the event. */
export interface TransformContext {
  /** `<aws.events.rule-arn>`. */
  readonly ruleArn: string;
  /** `<aws.events.rule-name>`. */
  readonly ruleName: string;
  /** When the event was accepted, in milliseconds since the epoch (`<aws.events.event.ingestion-time>`). */
  readonly ingestedAt: number;
}

/** The codes a {@link TransformError} carries (dead-letter messages show them as ERROR_CODE). */
export const TransformErrorCode = {
  /** The target's Input, InputPath or InputTransformer is not valid; found when compiling. */
  InvalidTransformation: "INVALID_TRANSFORMATION",
  /** The InputPath selects nothing in this event. */
  InputPathNotFound: "INPUT_PATH_NOT_FOUND",
  /** The event text is not valid JSON (never for events that PutEvents accepted). */
  InvalidEventJson: "INVALID_EVENT_JSON",
  /** The template's output would be larger than {@link MAX_TRANSFORMED_BYTES}. */
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
} as const;
export type TransformErrorCode = (typeof TransformErrorCode)[keyof typeof TransformErrorCode];

/**
 * The transformation cannot produce a payload. Never retryable: the same target and event fail the
 * same way every time, so the delivery engine dead-letters the event with this reason at once.
 */
export class TransformError extends Error {
  override readonly name = "TransformError";
  readonly retryable = false;

  constructor(
    readonly code: TransformErrorCode,
    /** The Target field at fault, such as `InputTransformer.InputTemplate`. */
    readonly field: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A compiled transformation: the payload for one event. */
export type Transform = (eventJson: string, ctx: TransformContext) => string;

/** Most variables an InputPathsMap may define (EventBridge's limit). */
export const MAX_INPUT_PATHS = 100;

/** The predefined variables, which InputPathsMap may not redefine. */
export const PREDEFINED_VARIABLES = [
  "aws.events.rule-arn",
  "aws.events.rule-name",
  "aws.events.event.ingestion-time",
  "aws.events.event",
  "aws.events.event.json",
] as const;
type Predefined = (typeof PREDEFINED_VARIABLES)[number];

/** Predefined variables whose JSON is inserted unescaped: only allowed as a value in a JSON template. */
const JSON_ONLY: ReadonlySet<string> = new Set(["aws.events.event", "aws.events.event.json"]);

/** Where a variable sits: a JSON value, inside a JSON string, or in plain text. */
type Mode = "value" | "string" | "text";
type Source = { readonly path: JsonPath } | { readonly predefined: Predefined };
interface Slot {
  readonly variable: number;
  readonly mode: Mode;
}
interface Template {
  /** Text around the slots: `literals[i]` precedes `slots[i]`; one more literal than slots. */
  readonly literals: readonly string[];
  readonly slots: readonly Slot[];
}

const IDENTITY: Transform = (eventJson) => eventJson;
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/y;
const VARIABLE_NAME = /^[A-Za-z0-9_.-]+$/;
const WHOLE_EVENT = parseJsonPath("$");

const invalid = (field: string, message: string, cause?: unknown): TransformError =>
  new TransformError(TransformErrorCode.InvalidTransformation, field, message, { cause });

/**
 * Compiles a target's `Input`, `InputPath` or `InputTransformer` (fields of the AWS Target structure;
 * other fields are ignored) into a function that makes the payload for an event.
 *
 * In a JSON template, a variable outside quotes becomes a JSON value (strings quoted, numbers,
 * booleans, null, objects and arrays as their minified JSON), and a variable inside quotes becomes
 * string content, JSON-escaped (objects and arrays as their escaped JSON text). A string template
 * that is one JSON string literal (such as `"instance \"<instance>\" is in <state>"`) is treated the
 * same way, so it stays a valid JSON string; any other string template is plain text with values
 * inserted unescaped (strings without quotes). A variable whose path selects nothing is an empty
 * string: `""` as a JSON value, nothing in a string or text.
 *
 * @throws {TransformError} `INVALID_TRANSFORMATION` when the spec is not valid: more than one of the
 *   three fields, Input not JSON, a path outside the supported syntax, more than 100 variables, a
 *   variable named `aws.*`, a template that uses an undefined variable or a variable as an object key,
 *   `<aws.events.event>` or `<aws.events.event.json>` anywhere but as a JSON value, or a JSON
 *   template that is not valid JSON.
 */
export function compileTransform(spec: Readonly<Record<string, unknown>>): Transform {
  const given = (["Input", "InputPath", "InputTransformer"] as const).filter(
    (k) => spec[k] !== undefined && spec[k] !== null,
  );
  if (given.length > 1) {
    throw invalid(given[1]!, "Only one of Input, InputPath, or InputTransformer may be specified.");
  }
  const field = given[0];
  if (field === "Input") return compileInput(spec.Input);
  if (field === "InputPath") return compileInputPath(spec.InputPath);
  if (field === "InputTransformer") return compileInputTransformer(spec.InputTransformer);
  return IDENTITY;
}

function compileInput(input: unknown): Transform {
  if (typeof input !== "string") throw invalid("Input", "Input must be a string of JSON text.");
  try {
    JSON.parse(input);
  } catch (e) {
    throw invalid("Input", `Input is not valid JSON: ${(e as Error).message}`, e);
  }
  return () => input;
}

function compilePath(field: string, path: unknown): JsonPath {
  if (typeof path !== "string") throw invalid(field, `${field} must be a string.`);
  try {
    return parseJsonPath(path);
  } catch (e) {
    if (e instanceof JsonPathSyntaxError) throw invalid(field, `${field} is not valid: ${e.message}`, e);
    throw e;
  }
}

function compileInputPath(inputPath: unknown): Transform {
  const path = compilePath("InputPath", inputPath);
  return (eventJson) => {
    const selected = read(() => new JsonDocument(eventJson).select(path));
    if (selected === undefined) {
      throw new TransformError(
        TransformErrorCode.InputPathNotFound,
        "InputPath",
        `InputPath ${path.text} selects nothing in the event.`,
      );
    }
    return selected;
  };
}

function compileInputTransformer(transformer: unknown): Transform {
  if (typeof transformer !== "object" || transformer === null || Array.isArray(transformer)) {
    throw invalid("InputTransformer", "InputTransformer must be a structure.");
  }
  const { InputPathsMap: map = {}, InputTemplate: template } = transformer as Record<string, unknown>;
  if (typeof template !== "string" || template.length === 0) {
    throw invalid(
      "InputTransformer.InputTemplate",
      "InputTransformer.InputTemplate must be a non-empty string.",
    );
  }
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw invalid("InputTransformer.InputPathsMap", "InputTransformer.InputPathsMap must be a map.");
  }
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length > MAX_INPUT_PATHS) {
    throw invalid(
      "InputTransformer.InputPathsMap",
      `InputTransformer.InputPathsMap has ${entries.length} variables; at most ${MAX_INPUT_PATHS} are allowed.`,
    );
  }
  const paths = new Map<string, JsonPath>();
  for (const [name, path] of entries) {
    const field = `InputTransformer.InputPathsMap.${name}`;
    if (!VARIABLE_NAME.test(name)) {
      throw invalid(field, `Variable name ${JSON.stringify(name)} may only use letters, digits, _, - and .`);
    }
    if (name.toLowerCase().startsWith("aws.")) {
      throw invalid(field, `Variable name ${name} is reserved: names may not start with "aws.".`);
    }
    paths.set(name, compilePath(field, path));
  }

  const sources: Source[] = [];
  const indexes = new Map<string, number>();
  const variable = (name: string): number => {
    let index = indexes.get(name);
    if (index === undefined) {
      const path = paths.get(name);
      const predefined = PREDEFINED_VARIABLES.find((p) => p === name);
      if (path === undefined && predefined === undefined) {
        throw invalid(
          "InputTransformer.InputTemplate",
          `InputTemplate contains invalid placeholder ${name}.`,
        );
      }
      index = sources.push(path !== undefined ? { path } : { predefined: predefined! }) - 1;
      indexes.set(name, index);
    }
    return index;
  };
  const compiled = compileTemplate(template, variable);
  for (const slot of compiled.slots) {
    const source = sources[slot.variable]!;
    if ("predefined" in source && JSON_ONLY.has(source.predefined) && slot.mode !== "value") {
      throw invalid(
        "InputTransformer.InputTemplate",
        `<${source.predefined}> can only be used as a value in a JSON template (outside quotes), ` +
          "because its content is not escaped.",
      );
    }
  }
  return render(compiled, sources);
}

/**
 * Splits a template into literals and slots. A template starting with `{` is a JSON object template
 * and must be valid; one starting with `[` or `"` is a JSON template when it is valid JSON (so that
 * `[ALERT] <message>` stays a text template); anything else is text.
 */
function compileTemplate(template: string, variable: (name: string) => number): Template {
  const first = /[^ \t\n\r]/.exec(template)?.[0];
  if (first === "{" || first === "[" || first === '"') {
    const json = lexJson(template, variable);
    if (typeof json !== "string") return json;
    if (first === "{") throw invalid("InputTransformer.InputTemplate", json);
  }
  return lexText(template, variable);
}

/**
 * Reads a template as JSON with placeholders: drops the whitespace between tokens, marks each slot as
 * a value or as string content, and checks the result is JSON (each value slot standing for `null`).
 * Returns the reason when it is not.
 */
function lexJson(template: string, variable: (name: string) => number): Template | string {
  const literals: string[] = [];
  const slots: Slot[] = [];
  let literal = "";
  let probe = "";
  const containers: string[] = [];
  let keyNext = false;
  let inString = false;
  let stringIsKey = false;
  for (let i = 0; i < template.length;) {
    const c = template[i]!;
    if (c === "<") {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(template);
      if (m !== null) {
        const inKey = inString ? stringIsKey : containers.at(-1) === "{" && keyNext;
        if (inKey) return `InputTemplate uses <${m[1]}> as an object key; a placeholder cannot be a key.`;
        literals.push(literal);
        literal = "";
        slots.push({ variable: variable(m[1]!), mode: inString ? "string" : "value" });
        if (!inString) probe += "null";
        i = PLACEHOLDER.lastIndex;
        continue;
      }
    }
    if (inString) {
      if (c === "\\") {
        const escaped = template.slice(i, i + 2);
        literal += escaped;
        probe += escaped;
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    } else if (c === "{" || c === "[") {
      containers.push(c);
      keyNext = c === "{";
    } else if (c === "}" || c === "]") {
      containers.pop();
      keyNext = false;
    } else if (c === ",") {
      keyNext = containers.at(-1) === "{";
    } else if (c === ":") {
      keyNext = false;
    } else if (c === '"') {
      inString = true;
      stringIsKey = containers.at(-1) === "{" && keyNext;
      keyNext = false;
    }
    literal += c;
    probe += c;
    i++;
  }
  literals.push(literal);
  try {
    JSON.parse(probe);
  } catch (e) {
    return `InputTemplate is not valid JSON (reading each placeholder outside quotes as a value): ${(e as Error).message}`;
  }
  return { literals, slots };
}

/** Reads a template as plain text: every placeholder is a text slot, everything else is kept as is. */
function lexText(template: string, variable: (name: string) => number): Template {
  const literals: string[] = [];
  const slots: Slot[] = [];
  let from = 0;
  for (let i = template.indexOf("<"); i >= 0; i = template.indexOf("<", i + 1)) {
    PLACEHOLDER.lastIndex = i;
    const m = PLACEHOLDER.exec(template);
    if (m === null) continue;
    literals.push(template.slice(from, i));
    slots.push({ variable: variable(m[1]!), mode: "text" });
    from = PLACEHOLDER.lastIndex;
    i = from - 1;
  }
  literals.push(template.slice(from));
  return { literals, slots };
}

/**
 * The largest payload a template may make, in UTF-8 bytes: an event's own limit (256 KiB). A short
 * template that repeats a large value (`[<e>,<e>,…]` with `<e>` the whole event) would otherwise
 * build a string of hundreds of megabytes on the main thread for each delivery.
 */
export const MAX_TRANSFORMED_BYTES = 262_144;

/** The rendering function of a compiled template. */
function render(template: Template, sources: readonly Source[]): Transform {
  const { literals, slots } = template;
  const readsEvent = sources.some((s) => "path" in s || JSON_ONLY.has(s.predefined));
  const tooLarge = (): TransformError =>
    new TransformError(
      TransformErrorCode.PayloadTooLarge,
      "InputTransformer.InputTemplate",
      `The transformed input is larger than ${MAX_TRANSFORMED_BYTES} bytes.`,
    );
  return (eventJson, ctx) => {
    const doc = readsEvent ? new JsonDocument(eventJson) : undefined;
    // Each variable's value as JSON text (undefined when its path selects nothing), computed once.
    const values = read(() => sources.map((s) => valueOf(s, doc, ctx)));
    let out = literals[0]!;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      out += insert(values[slot.variable], slot.mode) + literals[i + 1]!;
      // Characters never outnumber UTF-8 bytes: past the limit in characters, it is past it in bytes.
      if (out.length > MAX_TRANSFORMED_BYTES) throw tooLarge();
    }
    if (out.length * 3 > MAX_TRANSFORMED_BYTES && Buffer.byteLength(out) > MAX_TRANSFORMED_BYTES)
      throw tooLarge();
    return out;
  };
}

function valueOf(source: Source, doc: JsonDocument | undefined, ctx: TransformContext): string | undefined {
  if ("path" in source) return doc!.select(source.path);
  switch (source.predefined) {
    case "aws.events.rule-arn":
      return JSON.stringify(ctx.ruleArn);
    case "aws.events.rule-name":
      return JSON.stringify(ctx.ruleName);
    case "aws.events.event.ingestion-time":
      return JSON.stringify(ingestionTime(ctx.ingestedAt));
    case "aws.events.event.json":
      return doc!.select(WHOLE_EVENT);
    case "aws.events.event":
      return eventWithoutDetail(doc!);
  }
}

/** A value (JSON text, or undefined for nothing) as it appears in a slot of the given mode. */
function insert(json: string | undefined, mode: Mode): string {
  if (json === undefined) return mode === "value" ? '""' : "";
  if (mode === "value") return json;
  const c = json[0];
  if (c === '"') return mode === "string" ? json.slice(1, -1) : (JSON.parse(json) as string);
  if (mode === "string" && (c === "{" || c === "[")) return JSON.stringify(withoutQuotes(json)).slice(1, -1);
  return json;
}

/**
 * An object or array referenced inside a string: its JSON text without the quotes of its strings, as
 * EventBridge documents ("removes any internal quotes to ensure a valid string": `{"a":"b"}` gives
 * `{a:b}`). The strings' contents are decoded, and the caller escapes the whole for the string.
 */
function withoutQuotes(json: string): string {
  let out = "";
  let from = 0;
  for (let i = json.indexOf('"'); i !== -1; i = json.indexOf('"', from)) {
    let end = i + 1;
    let escaped = false;
    while (json[end] !== '"') {
      if (json[end] === "\\") {
        escaped = true;
        end++;
      }
      end++;
    }
    out +=
      json.slice(from, i) +
      (escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end));
    from = end + 1;
  }
  return out + json.slice(from);
}

/** ISO 8601 in UTC to the second, the format of the envelope's `time` (`2015-11-11T21:29:54Z`). */
function ingestionTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Order of `<aws.events.event>`'s members as EventBridge writes them (detail-type as detailType). */
const EVENT_MEMBERS = ["id", "account", "detail-type", "time", "source", "region", "resources", "version"];

/** `<aws.events.event>`: the envelope without `detail`, with `detail-type` spelled `detailType`. */
function eventWithoutDetail(doc: JsonDocument): string {
  const members = doc.members();
  const byName = new Map(members);
  const parts: string[] = [];
  for (const name of EVENT_MEMBERS) {
    const value = byName.get(name);
    if (value !== undefined)
      parts.push(`${JSON.stringify(name === "detail-type" ? "detailType" : name)}:${value}`);
  }
  for (const [name, value] of members) {
    if (name !== "detail" && !EVENT_MEMBERS.includes(name)) parts.push(`${JSON.stringify(name)}:${value}`);
  }
  return `{${parts.join(",")}}`;
}

/** Runs a read of the event text, turning a malformed event into a TransformError. */
function read<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof EventTextError) {
      throw new TransformError(TransformErrorCode.InvalidEventJson, "event", e.message, { cause: e });
    }
    throw e;
  }
}
