/**
 * Parsing and validation of IAM JSON policy documents, shared by identity policies (`policy.ts`) and
 * event bus resource policies (`resource-policy.ts`). A document that breaks a rule is rejected with a
 * `MalformedPolicyError` whose `path` names the offending element (`Statement[1].Action[0]`).
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
 */
import { MalformedPolicyError } from "./errors.js";

/** The policy language versions IAM knows; a document without `Version` is `2008-10-17`. */
export const POLICY_VERSIONS = ["2012-10-17", "2008-10-17"] as const;
export type PolicyVersion = (typeof POLICY_VERSIONS)[number];

/** The outcome of evaluating policies for one request. */
export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/** A compiled wildcard pattern of a policy (an action, a resource ARN). */
export interface WildcardMatcher {
  test(value: string): boolean;
}

/** `Action`/`NotAction` or `Resource`/`NotResource`: patterns, and whether the element is the `Not` form. */
export interface MatchList {
  readonly negated: boolean;
  readonly patterns: readonly string[];
  readonly matchers: readonly WildcardMatcher[];
}

/** A statement's `Principal`: anyone, or AWS principals (`*`, accounts, IAM ARNs) and service names. */
export type PrincipalSpec =
  | { readonly any: true }
  | {
      readonly any: false;
      readonly accounts: readonly string[];
      readonly arns: readonly string[];
      readonly services: readonly string[];
    };

/** Condition operators Busbar evaluates in resource policies. */
export const CONDITION_OPERATORS = [
  "StringEquals",
  "StringNotEquals",
  "StringLike",
  "StringNotLike",
  "ArnEquals",
  "ArnLike",
  "ArnNotEquals",
  "ArnNotLike",
] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/**
 * Condition keys Busbar evaluates in resource policies, lower-cased (IAM keys are case-insensitive).
 * `aws:SourceArn` and `aws:SourceAccount` are present when Busbar's delivery writes to a queue for a
 * rule, as the service principal `events.amazonaws.com` (the grant EventBridge's guide prescribes);
 * `events:source` and `events:detail-type` when an event is put on a bus (PutEvents, or a rule's
 * event bus target), each the one value of that event.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
 */
export const CONDITION_KEYS = [
  "aws:principalorgid",
  "aws:principalaccount",
  "aws:principalarn",
  "aws:sourcearn",
  "aws:sourceaccount",
  "events:source",
  "events:detail-type",
] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];

/**
 * IAM's condition operators (without their `ForAnyValue:`/`ForAllValues:` prefixes and `IfExists`
 * suffix): a resource policy may use any of them. Busbar evaluates {@link CONDITION_OPERATORS} on
 * {@link CONDITION_KEYS}; any other test is kept as one it cannot evaluate (see {@link ConditionTest}).
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
const IAM_CONDITION_OPERATORS = new Set([
  "StringEquals",
  "StringNotEquals",
  "StringEqualsIgnoreCase",
  "StringNotEqualsIgnoreCase",
  "StringLike",
  "StringNotLike",
  "NumericEquals",
  "NumericNotEquals",
  "NumericLessThan",
  "NumericLessThanEquals",
  "NumericGreaterThan",
  "NumericGreaterThanEquals",
  "DateEquals",
  "DateNotEquals",
  "DateLessThan",
  "DateLessThanEquals",
  "DateGreaterThan",
  "DateGreaterThanEquals",
  "Bool",
  "BinaryEquals",
  "IpAddress",
  "NotIpAddress",
  "ArnEquals",
  "ArnLike",
  "ArnNotEquals",
  "ArnNotLike",
  "Null",
]);

/** `[ForAnyValue:|ForAllValues:]<operator>[IfExists]`. */
const CONDITION_OPERATOR_FORM = /^(ForAnyValue:|ForAllValues:)?([A-Za-z]+?)(IfExists)?$/;
/** A condition key: `service:name`, the name possibly with a `/` and a tag key (`aws:ResourceTag/team`). */
const CONDITION_KEY_FORM = /^[A-Za-z0-9-]+:[^\s]+$/;

/**
 * One test of a `Condition` block: operator, key and the values any of which may match. Tests Busbar
 * can evaluate are `supported`; the others (such as `ArnEquals` on `aws:SourceArn`, which SNS and S3
 * grants carry) are kept and never hold for an Allow statement (it grants nothing) and always hold for
 * a Deny statement (it denies), erring on the safe side.
 */
export type ConditionTest =
  | {
      readonly supported: true;
      /** The operator without its set prefix and `IfExists` suffix. */
      readonly operator: ConditionOperator;
      readonly key: ConditionKey;
      readonly values: readonly string[];
      /**
       * How a key absent from the request is taken: `ForAllValues:` and `…IfExists` hold without it
       * (`true`), `ForAnyValue:` does not (`false`); without them (undefined), as the operator takes
       * it (a negated one holds). Each key Busbar evaluates has one value when present, so the set
       * operators otherwise test it as the operator does.
       */
      readonly absent?: boolean;
    }
  | {
      readonly supported: false;
      readonly operator: string;
      readonly key: string;
      readonly values: readonly string[];
    };

/**
 * A validated statement. `principal` (or `notPrincipal`) and `conditions` only occur in resource
 * policies.
 */
export interface ParsedStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  readonly action: MatchList;
  readonly resource: MatchList;
  readonly principal?: PrincipalSpec;
  /** `NotPrincipal`: the statement applies to every principal but these. */
  readonly notPrincipal?: PrincipalSpec;
  readonly conditions: readonly ConditionTest[];
}

/** A validated policy document. */
export interface ParsedPolicy {
  readonly version: PolicyVersion;
  readonly id?: string;
  readonly statements: readonly ParsedStatement[];
}

/** Which rules apply: identity policies forbid `Principal` and `Condition`; resource policies need `Principal`. */
export type PolicyKind = "identity" | "resource";

/** A parsed document and its JSON form, whose statements `resource-policy.ts` edits. */
export interface PolicyDocument {
  readonly policy: ParsedPolicy;
  readonly json: Record<string, unknown>;
  readonly rawStatements: readonly Record<string, unknown>[];
}

const TOP_LEVEL_KEYS = new Set(["Version", "Id", "Statement"]);
const STATEMENT_KEYS = new Set([
  "Sid",
  "Effect",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Principal",
  "NotPrincipal",
  "Condition",
]);
const ACTION = /^[A-Za-z0-9-]+:[A-Za-z0-9_*?-]+$/;
const ARN_PREFIX_SEGMENTS = 5;
const ACCOUNT_ID = /^\d{12}$/;
const IAM_PRINCIPAL_ARN = /^arn:[a-z0-9-]+:(?:iam|sts)::(\d{12}):(.+)$/;

/** Whether a JSON value is an object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses and validates a policy document.
 * @throws MalformedPolicyError naming the element and the rule it breaks.
 */
export function parsePolicyDocument(text: string, kind: PolicyKind): PolicyDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MalformedPolicyError("", `not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json)) throw new MalformedPolicyError("", "a policy must be a JSON object");
  for (const key of Object.keys(json)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      throw new MalformedPolicyError(key, "unknown top-level element; allowed: Version, Id, Statement");
    }
  }
  const version = json["Version"] ?? "2008-10-17";
  if (!POLICY_VERSIONS.includes(version as PolicyVersion)) {
    throw new MalformedPolicyError("Version", `must be one of ${POLICY_VERSIONS.join(", ")}`);
  }
  const id = json["Id"];
  if (id !== undefined && typeof id !== "string") throw new MalformedPolicyError("Id", "must be a string");
  const statement = json["Statement"];
  if (statement === undefined) throw new MalformedPolicyError("Statement", "is required");
  const rawStatements = Array.isArray(statement) ? (statement as unknown[]) : [statement];
  if (rawStatements.length === 0)
    throw new MalformedPolicyError("Statement", "must hold at least one statement");
  const sids = new Set<string>();
  const statements = rawStatements.map((raw, i) => {
    const path = Array.isArray(statement) ? `Statement[${i}]` : "Statement";
    if (!isObject(raw)) throw new MalformedPolicyError(path, "a statement must be a JSON object");
    const parsed = parseStatement(raw, path, kind, version as PolicyVersion);
    if (parsed.sid !== undefined) {
      if (sids.has(parsed.sid))
        throw new MalformedPolicyError(`${path}.Sid`, `duplicate Sid '${parsed.sid}'`);
      sids.add(parsed.sid);
    }
    return parsed;
  });
  const policy: ParsedPolicy = {
    version: version as PolicyVersion,
    ...(id === undefined ? {} : { id }),
    statements,
  };
  return { policy, json, rawStatements: rawStatements as Record<string, unknown>[] };
}

function parseStatement(
  raw: Record<string, unknown>,
  path: string,
  kind: PolicyKind,
  version: PolicyVersion,
): ParsedStatement {
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key))
      throw new MalformedPolicyError(`${path}.${key}`, "unknown statement element");
  }
  const sid = raw["Sid"];
  if (sid !== undefined && typeof sid !== "string")
    throw new MalformedPolicyError(`${path}.Sid`, "must be a string");
  const effect = raw["Effect"];
  if (effect !== "Allow" && effect !== "Deny") {
    throw new MalformedPolicyError(`${path}.Effect`, 'must be "Allow" or "Deny"');
  }
  const action = parseMatchList(raw, path, "Action", (p, value) => compileAction(p, value));
  // A resource policy's statement may leave its resource out: it is the resource the policy is on.
  const resource =
    kind === "resource" && raw["Resource"] === undefined && raw["NotResource"] === undefined
      ? ANY_RESOURCE
      : parseMatchList(raw, path, "Resource", (p, value) => compileResource(p, value, version));
  const base: Omit<ParsedStatement, "principal" | "conditions"> = {
    ...(sid === undefined ? {} : { sid }),
    effect,
    action,
    resource,
  };
  if (kind === "identity") {
    for (const element of ["Principal", "NotPrincipal"]) {
      if (raw[element] !== undefined) {
        throw new MalformedPolicyError(`${path}.${element}`, "an identity policy must not name a principal");
      }
    }
    if (raw["Condition"] !== undefined) {
      throw new MalformedPolicyError(
        `${path}.Condition`,
        "conditions are not supported in identity policies",
      );
    }
    return { ...base, conditions: [] };
  }
  const conditions = parseConditions(raw["Condition"], `${path}.Condition`);
  if ((raw["Principal"] === undefined) === (raw["NotPrincipal"] === undefined)) {
    throw new MalformedPolicyError(
      `${path}.Principal`,
      "a resource policy statement must name exactly one of Principal and NotPrincipal",
    );
  }
  if (raw["NotPrincipal"] !== undefined) {
    return { ...base, notPrincipal: parsePrincipal(raw["NotPrincipal"], `${path}.NotPrincipal`), conditions };
  }
  return { ...base, principal: parsePrincipal(raw["Principal"], `${path}.Principal`), conditions };
}

/** Matches anything. */
const ANYTHING: WildcardMatcher = { test: () => true };

/** Every resource: what a resource policy's statement without Resource covers. */
const ANY_RESOURCE: MatchList = { negated: false, patterns: ["*"], matchers: [ANYTHING] };

function parseMatchList(
  raw: Record<string, unknown>,
  path: string,
  element: "Action" | "Resource",
  compile: (path: string, value: string) => WildcardMatcher,
): MatchList {
  const positive = raw[element];
  const negative = raw[`Not${element}`];
  if ((positive === undefined) === (negative === undefined)) {
    throw new MalformedPolicyError(path, `a statement needs exactly one of ${element} and Not${element}`);
  }
  const negated = positive === undefined;
  const name = negated ? `Not${element}` : element;
  const patterns = stringList(negated ? negative : positive, `${path}.${name}`);
  const listed = Array.isArray(negated ? negative : positive);
  const matchers = patterns.map((p, i) => compile(listed ? `${path}.${name}[${i}]` : `${path}.${name}`, p));
  return { negated, patterns, matchers };
}

/** A string or a non-empty array of strings, as most policy elements accept. */
export function stringList(value: unknown, path: string): string[] {
  const list: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new MalformedPolicyError(path, "must not be an empty array");
  return list.map((item, i) => {
    if (typeof item !== "string") {
      throw new MalformedPolicyError(Array.isArray(value) ? `${path}[${i}]` : path, "must be a string");
    }
    return item;
  });
}

function compileAction(path: string, value: string): WildcardMatcher {
  if (value === "*") return ANYTHING;
  if (!ACTION.test(value)) {
    throw new MalformedPolicyError(
      path,
      `'${value}' is not an action: use "*" or service:Action, e.g. events:PutEvents (wildcards * and ? in the action name)`,
    );
  }
  const glob = value.toLowerCase();
  return { test: (action) => globMatches(glob, action.toLowerCase()) };
}

function compileResource(path: string, value: string, version: PolicyVersion): WildcardMatcher {
  if (value === "*") return ANYTHING;
  const segments = value.split(":");
  // IAM: "If the * wildcard is the last character of a resource ARN segment, it can expand to match
  // beyond the colon boundaries": `arn:aws:sqs:*`, `arn:aws:sqs:us-east-1:*` name every queue (of
  // the region), as AWS's examples write them.
  const short = segments.length < ARN_PREFIX_SEGMENTS + 1 && segments.length >= 3 && value.endsWith("*");
  if (segments[0] !== "arn" || (segments.length < ARN_PREFIX_SEGMENTS + 1 && !short)) {
    throw new MalformedPolicyError(
      path,
      `'${value}' is not a resource: use "*" or an ARN arn:partition:service:region:account:resource (a segment ending in * may stand for the rest)`,
    );
  }
  if (version === "2012-10-17" && value.includes("${")) {
    throw new MalformedPolicyError(path, "policy variables such as ${aws:username} are not supported");
  }
  return arnPattern(segments, short ? segments.length - 1 : ARN_PREFIX_SEGMENTS);
}

/**
 * An ARN with wildcards: wildcards stay inside their ARN segment, except in the resource part, which
 * may itself hold colons (IAM's resource matching, and its `ArnLike`). A value matches when its first
 * five colons (`prefixSegments`: fewer for a pattern cut short by a final `*`) split it into segments
 * that match the pattern's, and the rest matches its last part.
 */
function arnPattern(segments: readonly string[], prefixSegments = ARN_PREFIX_SEGMENTS): WildcardMatcher {
  const prefix = segments.slice(0, prefixSegments);
  const rest = segments.slice(prefixSegments).join(":");
  return {
    test(value) {
      let start = 0;
      for (const glob of prefix) {
        const colon = value.indexOf(":", start);
        if (colon === -1 || !globMatches(glob, value.slice(start, colon))) return false;
        start = colon + 1;
      }
      return globMatches(rest, value.slice(start));
    },
  };
}

/**
 * Whether `arn` matches the ARN `pattern` of an `ArnEquals`/`ArnLike` condition (both take wildcards,
 * case-sensitive, segment by segment). A value that is not an ARN matches nothing.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 */
export function arnLike(pattern: string, arn: string): boolean {
  const segments = pattern.split(":");
  if (segments[0] !== "arn" || segments.length < ARN_PREFIX_SEGMENTS + 1) return false;
  return arnPattern(segments).test(arn);
}

/**
 * Whether `value` matches `glob`, whose `*` stands for any run of characters and `?` for any one (a
 * UTF-16 unit), case-sensitive. Greedy, going back only to the latest `*`: at most the product of the
 * two lengths in steps, where a regular expression of several `.*` backtracks exponentially (a policy
 * of six stars against a 128-character bus name held the server for 52 s).
 */
export function globMatches(glob: string, value: string): boolean {
  let g = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    const c = glob.charCodeAt(g);
    if (g < glob.length && (c === QUESTION || c === value.charCodeAt(v)) && c !== STAR) {
      g++;
      v++;
    } else if (c === STAR) {
      star = g++;
      resume = v;
    } else if (star !== -1) {
      g = star + 1;
      v = ++resume;
    } else return false;
  }
  while (glob.charCodeAt(g) === STAR) g++;
  return g === glob.length;
}

const STAR = 42;
const QUESTION = 63;

function parsePrincipal(value: unknown, path: string): PrincipalSpec {
  if (value === "*") return { any: true };
  if (!isObject(value)) {
    throw new MalformedPolicyError(path, 'must be "*" or an object such as {"AWS": "123456789012"}');
  }
  const accounts: string[] = [];
  const arns: string[] = [];
  const services: string[] = [];
  for (const [type, entry] of Object.entries(value)) {
    // Services, web identity providers and S3 canonical users: no caller with a key is one of them;
    // Busbar's delivery writes to queues as the service events.amazonaws.com.
    if (type === "Service" || type === "Federated" || type === "CanonicalUser") {
      services.push(...stringList(entry, `${path}.${type}`));
      continue;
    }
    if (type !== "AWS") {
      throw new MalformedPolicyError(
        `${path}.${type}`,
        "is not a principal type: use AWS, Service, Federated or CanonicalUser",
      );
    }
    for (const aws of stringList(entry, `${path}.AWS`)) {
      if (aws === "*") return { any: true };
      if (ACCOUNT_ID.test(aws)) {
        accounts.push(aws);
        continue;
      }
      const arn = IAM_PRINCIPAL_ARN.exec(aws);
      if (arn === null) {
        throw new MalformedPolicyError(
          `${path}.AWS`,
          `'${aws}' is not a principal: use "*", a 12-digit account ID or an IAM ARN`,
        );
      }
      if (arn[2] === "root") accounts.push(arn[1] ?? "");
      else arns.push(aws);
    }
  }
  if (accounts.length + arns.length + services.length === 0) {
    throw new MalformedPolicyError(path, "must name at least one principal");
  }
  return { any: false, accounts, arns, services };
}

function parseConditions(value: unknown, path: string): ConditionTest[] {
  if (value === undefined) return [];
  if (!isObject(value)) throw new MalformedPolicyError(path, "must be a JSON object");
  const tests: ConditionTest[] = [];
  for (const [operator, block] of Object.entries(value)) {
    const form = CONDITION_OPERATOR_FORM.exec(operator);
    const base = form?.[2];
    if (form === null || base === undefined || !IAM_CONDITION_OPERATORS.has(base)) {
      throw new MalformedPolicyError(`${path}.${operator}`, "is not an IAM condition operator");
    }
    if (!isObject(block)) throw new MalformedPolicyError(`${path}.${operator}`, "must be a JSON object");
    for (const [key, values] of Object.entries(block)) {
      if (!CONDITION_KEY_FORM.test(key)) {
        throw new MalformedPolicyError(`${path}.${operator}.${key}`, "is not a condition key (service:name)");
      }
      const list = conditionValues(values, `${path}.${operator}.${key}`);
      const lower = key.toLowerCase();
      // IfExists holds without the key whatever the prefix; ForAllValues: of no values holds, ForAnyValue: not.
      const absent =
        form[3] !== undefined || form[1] === "ForAllValues:"
          ? true
          : form[1] === "ForAnyValue:"
            ? false
            : undefined;
      tests.push(
        CONDITION_OPERATORS.includes(base as ConditionOperator) &&
          CONDITION_KEYS.includes(lower as ConditionKey)
          ? {
              supported: true,
              operator: base as ConditionOperator,
              key: lower as ConditionKey,
              values: list,
              ...(absent !== undefined && { absent }),
            }
          : { supported: false, operator, key: lower, values: list },
      );
    }
  }
  return tests;
}

/** A condition's values: a string, number or boolean, or a non-empty list of them, as text. */
function conditionValues(value: unknown, path: string): string[] {
  const list: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new MalformedPolicyError(path, "must not be an empty array");
  return list.map((item, i) => {
    if (typeof item === "string") return item;
    if (typeof item === "number" || typeof item === "boolean") return String(item);
    throw new MalformedPolicyError(
      Array.isArray(value) ? `${path}[${i}]` : path,
      "must be a string, number or boolean",
    );
  });
}
