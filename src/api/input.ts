/**
 * Reading operation input: a JSON object whose members are checked for type, presence and length,
 * every failure a ValidationException naming the member. Names and ARNs follow the EventBridge API
 * reference's constraints.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html
 */
import { ApiError, invalidParameter } from "./errors.js";

/** Operation input: the parsed JSON body. */
export type Input = Readonly<Record<string, unknown>>;

/** Length and pattern constraints of a string member. */
export interface StringRule {
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  /** A secret: errors do not quote the value. */
  readonly sensitive?: boolean;
}

/** A required string member. */
export function requiredString(input: Input, name: string, rule: StringRule = {}): string {
  const v = input[name];
  if (v === undefined || v === null) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: Value null at '${lower(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return checkString(name, v, rule);
}

/** An optional string member. */
export function optionalString(input: Input, name: string, rule: StringRule = {}): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  return checkString(name, v, rule);
}

function checkString(name: string, v: unknown, rule: StringRule): string {
  if (typeof v !== "string") throw new ApiError("SerializationException", `${name} must be a string`);
  const { min = 0, max = Infinity, pattern } = rule;
  // A secret's value is never quoted back (AWS leaves sensitive members out of the message too).
  const value = rule.sensitive === true ? "Value" : `Value '${clip(v)}'`;
  if (v.length < min) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: ${value} at '${lower(name)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  }
  if (v.length > max) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: ${value} at '${lower(name)}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  if (pattern !== undefined && !pattern.test(v)) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: ${value} at '${lower(name)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`,
    );
  }
  return v;
}

/** An optional integer member within bounds. */
export function optionalInteger(input: Input, name: string, min: number, max: number): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new ApiError("SerializationException", `${name} must be an integer`);
  if (v < min || v > max) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: Value '${v}' at '${lower(name)}' failed to satisfy constraint: Member must have value ${v < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
    );
  }
  return v;
}

/** An optional boolean member. */
export function optionalBoolean(input: Input, name: string): boolean | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new ApiError("SerializationException", `${name} must be a boolean`);
  return v;
}

/** An array member (required or not) with a length range. */
export function arrayOf(
  input: Input,
  name: string,
  min: number,
  max: number,
  required: boolean,
): unknown[] | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required) {
      throw new ApiError(
        "ValidationException",
        `1 validation error detected: Value null at '${lower(name)}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return undefined;
  }
  if (!Array.isArray(v)) throw new ApiError("SerializationException", `${name} must be a list`);
  if (v.length < min || v.length > max) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: Value at '${lower(name)}' failed to satisfy constraint: Member must have length ${v.length < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
    );
  }
  return v as unknown[];
}

/**
 * A value that must be a structure (a JSON object: not an array, a string, a number or null), such as
 * a member of a list of structures; `at` names it in the error (`Tags[0]`).
 * @throws ApiError SerializationException for any other JSON type.
 */
export function structureAt(v: unknown, at: string): Input {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new ApiError("SerializationException", `${at} must be a structure`);
  return v as Input;
}

/**
 * Runs `read` on a member structure at `path` (such as `targets.2.member`, as the AWS JSON protocol
 * names the second of a list, or `targets.2.member.retryPolicy`): a ValidationException it throws
 * names its member by the whole path, as AWS's validation messages do.
 */
export function within<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof ApiError) || e.awsType !== "ValidationException") throw e;
    throw new ApiError(
      e.awsType,
      e.message.replace(/ at '([^']*)'/, (_, member: string) => ` at '${path}.${member}'`),
    );
  }
}

/** An optional object member. */
export function optionalObject(input: Input, name: string): Input | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  return structureAt(v, name);
}

function lower(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** The first 100 characters of `v` (not half of a surrogate pair: an emoji is kept or left out whole). */
export function clip(v: string): string {
  if (v.length <= 100) return v;
  const end = /[\uD800-\uDBFF]/.test(v.charAt(99)) ? 99 : 100;
  return `${v.slice(0, end)}…`;
}

/** Event bus names: a name, or for some operations an ARN (`[/\.\-_A-Za-z0-9]+`, 1–256). */
export const BUS_NAME: StringRule = { min: 1, max: 256, pattern: /^[/.\-_A-Za-z0-9]+$/ };
/** Event bus name or ARN (up to 1600 characters). */
export const BUS_NAME_OR_ARN: StringRule = {
  min: 1,
  max: 1600,
  pattern: /^(?:arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/,
};
/** Names of buses that are not partner buses (PutPermission, RemovePermission): no `/`, 1–256. */
export const NON_PARTNER_BUS_NAME: StringRule = { min: 1, max: 256, pattern: /^[.\-_A-Za-z0-9]+$/ };
/** Rule names: `[\.\-_A-Za-z0-9]+`, 1–64. */
export const RULE_NAME: StringRule = { min: 1, max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ };
/** Target ids: `[\.\-_A-Za-z0-9]+`, 1–64. */
export const TARGET_ID: StringRule = { min: 1, max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ };
/** ARNs: 1–1600. */
export const ARN: StringRule = { min: 1, max: 1600 };
/** Next tokens: 1–2048. */
export const NEXT_TOKEN: StringRule = { min: 1, max: 2048 };

/** Throws unless `value` is one of `allowed`. */
export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidParameter(name, `must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}
