/**
 * Event bus resource policies, as EventBridge keeps them: `PutPermission` appends a statement,
 * `RemovePermission` removes one by its `StatementId`, `PutPermission` with `Policy` replaces the whole
 * document, and `DescribeEventBus` returns it. Evaluation decides whether a principal of another
 * account may call an action on the bus.
 *
 * Statement elements beyond identity policies: `Principal` or `NotPrincipal` (`"*"`, `{"AWS": …}` with
 * `*`, 12-digit account IDs, `arn:aws:iam::<account>:root` or other IAM ARNs, and `Service`,
 * `Federated` and `CanonicalUser` principals, of which only `events.amazonaws.com` is ever a caller:
 * Busbar's delivery writing to a queue for a rule), `Resource` optional (the resource the policy is
 * on), and `Condition` with any IAM operator and key. Busbar evaluates `StringEquals`,
 * `StringNotEquals`, `StringLike`, `StringNotLike` and the four `Arn…` operators, with or without
 * `ForAllValues:`/`ForAnyValue:` and `IfExists`, on `aws:PrincipalOrgID`, `aws:PrincipalAccount`,
 * `aws:PrincipalArn`, `aws:SourceArn`, `aws:SourceAccount`, `events:source` and `events:detail-type`;
 * any other test (`aws:SecureTransport`, `NumericLessThan`, say) is kept, never lets an Allow grant,
 * and makes a Deny apply. The document may not exceed 10 KB.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RemovePermission.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Condition.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
 */
import {
  InvalidPermissionError,
  PermissionAlreadyExistsError,
  PermissionNotFoundError,
  PolicyLengthExceededError,
} from "./errors.js";
import { statementMatches } from "./policy.js";
import {
  arnLike,
  globMatches,
  parsePolicyDocument,
  type ConditionKey,
  type ConditionTest,
  type Decision,
  type ParsedPolicy,
  type ParsedStatement,
  type PrincipalSpec,
} from "./policy-document.js";

/** The largest event bus policy, in UTF-8 bytes: "The permission policy on the event bus cannot exceed 10 KB". */
export const MAX_RESOURCE_POLICY_BYTES = 10 * 1024;

/** The only action PutPermission grants. */
export const PUT_EVENTS_ACTION = "events:PutEvents";

/** The only condition PutPermission accepts: membership of an AWS organization. */
export const ORG_CONDITION = { type: "StringEquals", key: "aws:PrincipalOrgID" } as const;

const STATEMENT_ID = /^[a-zA-Z0-9-_]{1,64}$/;
const PRINCIPAL = /^(\d{12}|\*)$/;
const ARN = /^arn:([a-z0-9-]+):[^:]*:[^:]*:[^:]*:.+$/;

/** PutPermission's `Condition` parameter. */
export interface PermissionCondition {
  /** Must be `StringEquals`. */
  readonly type: string;
  /** Must be `aws:PrincipalOrgID`. */
  readonly key: string;
  /** The organization ID, e.g. `o-1234567890`. */
  readonly value: string;
}

/** A grant made by PutPermission without `Policy`. */
export interface PermissionGrant {
  /** 1–64 characters of `[a-zA-Z0-9-_]`, unique in the policy. */
  readonly statementId: string;
  /** Must be `events:PutEvents`. */
  readonly action: string;
  /** A 12-digit account ID, or `*` for everyone (usually narrowed by `condition`). */
  readonly principal: string;
  /** The ARN of the event bus. */
  readonly resourceArn: string;
  readonly condition?: PermissionCondition | undefined;
}

/** Who asks to do what, for {@link evaluateResourcePolicy}. */
export interface ResourceRequestContext {
  readonly principalAccountId: string;
  readonly action: string;
  readonly resource: string;
  /** The caller's organization, the value of `aws:PrincipalOrgID`; absent when it has none. */
  readonly principalOrgId?: string | undefined;
  /** The caller's IAM ARN, the value of `aws:PrincipalArn`. */
  readonly principalArn?: string | undefined;
  /**
   * The service the request is made as (`events.amazonaws.com` when delivery writes to a queue), which
   * a `{"Service": …}` principal names; absent for a caller with an access key.
   */
  readonly principalService?: string | undefined;
  /** The resource the service acts for (the rule's ARN), the value of `aws:SourceArn`. */
  readonly sourceArn?: string | undefined;
  /** The account of that resource, the value of `aws:SourceAccount`. */
  readonly sourceAccount?: string | undefined;
  /** The source of the event put on a bus, the value of `events:source`. */
  readonly eventSource?: string | undefined;
  /** The detail-type of the event put on a bus, the value of `events:detail-type`. */
  readonly eventDetailType?: string | undefined;
}

/**
 * Parses and validates a bus resource policy.
 * @throws MalformedPolicyError naming the offending element; PolicyLengthExceededError past 10 KB.
 */
export function parseResourcePolicy(json: string): ParsedPolicy {
  checkLength(json);
  return parsePolicyDocument(json, "resource").policy;
}

/** Policies parsed before, by their text (a policy is asked on every request to its bus or queue). */
const parsedPolicies = new Map<string, ParsedPolicy>();

function parsedOnce(json: string): ParsedPolicy {
  let parsed = parsedPolicies.get(json);
  if (parsed === undefined) {
    parsed = parseResourcePolicy(json);
    if (parsedPolicies.size >= 1000) parsedPolicies.clear();
    parsedPolicies.set(json, parsed);
  }
  return parsed;
}

/**
 * Whether any statement of a resource policy tests one of these condition keys (lower-cased, as
 * `events:source`): so that a caller gathers the keys' values only for the policies that read them.
 */
export function policyTests(policy: string, ...keys: readonly string[]): boolean {
  return parsedOnce(policy).statements.some((s) => s.conditions.some((c) => keys.includes(c.key)));
}

/**
 * Validates a bus resource policy (PutPermission with `Policy`).
 * @throws MalformedPolicyError naming the offending element; PolicyLengthExceededError past 10 KB.
 */
export function validateResourcePolicy(json: string): void {
  parseResourcePolicy(json);
}

/**
 * Adds the statement PutPermission makes to a bus policy (or to a new one) and returns the new policy:
 * `{Sid, Effect: "Allow", Principal: {"AWS": "arn:<partition>:iam::<account>:root"} or "*",
 * Action: "events:PutEvents", Resource: <bus ARN>, Condition?: {"StringEquals": {"aws:PrincipalOrgID": …}}}`.
 * @throws InvalidPermissionError for a parameter that breaks a rule; PermissionAlreadyExistsError for a
 *   taken StatementId; MalformedPolicyError for a stored policy that is not valid;
 *   PolicyLengthExceededError when the result would pass 10 KB.
 */
export function addPermission(policyJson: string | undefined, grant: PermissionGrant): string {
  const result = withStatement(policyJson, grant.statementId, permissionStatement(grant), {
    Version: "2012-10-17",
  });
  checkLength(result);
  return result;
}

/**
 * A policy with `statement` (whose Sid is `sid`) appended; without a policy, `fresh`'s elements and
 * the statement. Shared by EventBridge's PutPermission and SQS's AddPermission, which check the length
 * of the result against their own limits.
 * @throws PermissionAlreadyExistsError for a taken Sid; MalformedPolicyError for a stored policy that
 *   is not valid.
 */
export function withStatement(
  policyJson: string | undefined,
  sid: string,
  statement: Record<string, unknown>,
  fresh: Record<string, unknown>,
): string {
  if (policyJson === undefined) return JSON.stringify({ ...fresh, Statement: [statement] });
  const document = parsePolicyDocument(policyJson, "resource");
  if (document.policy.statements.some((s) => s.sid === sid)) throw new PermissionAlreadyExistsError(sid);
  return JSON.stringify({ ...document.json, Statement: [...document.rawStatements, statement] });
}

/**
 * Removes the statement with this Sid (RemovePermission) and returns the remaining policy, or
 * `undefined` when no statement remains.
 * @throws PermissionNotFoundError when no statement has this Sid; MalformedPolicyError for a stored
 *   policy that is not valid.
 */
export function removePermission(policyJson: string | undefined, statementId: string): string | undefined {
  if (policyJson === undefined) throw new PermissionNotFoundError(statementId);
  const document = parsePolicyDocument(policyJson, "resource");
  const index = document.policy.statements.findIndex((s) => s.sid === statementId);
  if (index === -1) throw new PermissionNotFoundError(statementId);
  const remaining = document.rawStatements.filter((_, i) => i !== index);
  return remaining.length === 0 ? undefined : JSON.stringify({ ...document.json, Statement: remaining });
}

/**
 * Evaluates a bus policy for one request: a matching `Deny` wins, else a matching `Allow` allows, else
 * the request is implicitly denied (as is every request when there is no policy). A statement matches
 * when its principal, action, resource and every condition match. Combining the result with the
 * caller's identity policies is the caller's business.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
export function evaluateResourcePolicy(
  policy: string | ParsedPolicy | undefined,
  context: ResourceRequestContext,
): Decision {
  return judgeResourcePolicy(policy, context).decision;
}

/** A resource policy's decision, and whether an `Allow` in it names the caller itself. */
export interface ResourceJudgement {
  readonly decision: Decision;
  /**
   * Whether a matching `Allow` names the caller by its own ARN (`aws:PrincipalArn`), as `"*"`, or by
   * `NotPrincipal` (everyone but those listed), rather than only by its account. In the resource's own
   * account such an Allow grants by itself, as IAM's evaluation does ("if a resource-based policy
   * grants access to a principal in the same account, no identity-based policy is required"); one
   * naming the account delegates to the account's identity policies. Meaningless for a Deny.
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
   */
  readonly namesCaller: boolean;
}

/** {@link evaluateResourcePolicy}, with whether the Allow names the caller itself. */
export function judgeResourcePolicy(
  policy: string | ParsedPolicy | undefined,
  context: ResourceRequestContext,
): ResourceJudgement {
  if (policy === undefined) return { decision: "ImplicitDeny", namesCaller: false };
  const parsed = typeof policy === "string" ? parsedOnce(policy) : policy;
  let allowed = false;
  let namesCaller = false;
  for (const statement of parsed.statements) {
    if (!principalMatches(statement, context)) continue;
    if (!statementMatches(statement, context.action, context.resource)) continue;
    // A test Busbar cannot evaluate errs on the safe side: it never lets an Allow grant, and a Deny applies.
    const holds = (test: ConditionTest): boolean =>
      test.supported ? conditionHolds(test, context) : statement.effect === "Deny";
    if (!statement.conditions.every(holds)) continue;
    if (statement.effect === "Deny") return { decision: "ExplicitDeny", namesCaller: false };
    allowed = true;
    namesCaller ||= principalNamed(statement, context);
  }
  return { decision: allowed ? "Allow" : "ImplicitDeny", namesCaller };
}

/**
 * Whether a resource policy's decision lets its principal act: an Allow does; in the resource's own
 * account, no matching statement does too (the caller's own policies decide there); a matching Deny
 * never does, in any account.
 */
export function policyAdmits(decision: Decision, ownAccount: boolean): boolean {
  return decision === "Allow" || (ownAccount && decision === "ImplicitDeny");
}

function permissionStatement(grant: PermissionGrant): Record<string, unknown> {
  if (!STATEMENT_ID.test(grant.statementId)) {
    throw new InvalidPermissionError("StatementId", "must be 1 to 64 characters of a-z, A-Z, 0-9, - and _");
  }
  if (grant.action !== PUT_EVENTS_ACTION) {
    throw new InvalidPermissionError("Action", `must be ${PUT_EVENTS_ACTION}`);
  }
  if (!PRINCIPAL.test(grant.principal)) {
    throw new InvalidPermissionError("Principal", 'must be a 12-digit account ID or "*"');
  }
  const arn = ARN.exec(grant.resourceArn);
  if (arn === null) throw new InvalidPermissionError("resourceArn", "must be the ARN of the event bus");
  const partition = arn[1] ?? "aws";
  const statement: Record<string, unknown> = {
    Sid: grant.statementId,
    Effect: "Allow",
    Principal: grant.principal === "*" ? "*" : { AWS: `arn:${partition}:iam::${grant.principal}:root` },
    Action: PUT_EVENTS_ACTION,
    Resource: grant.resourceArn,
  };
  if (grant.condition !== undefined) {
    const { type, key, value } = grant.condition;
    if (type !== ORG_CONDITION.type)
      throw new InvalidPermissionError("Condition.Type", "must be StringEquals");
    if (key !== ORG_CONDITION.key)
      throw new InvalidPermissionError("Condition.Key", "must be aws:PrincipalOrgID");
    if (value === "") throw new InvalidPermissionError("Condition.Value", "must be an organization ID");
    statement["Condition"] = { [type]: { [key]: value } };
  }
  return statement;
}

function principalMatches(statement: ParsedStatement, context: ResourceRequestContext): boolean {
  if (statement.notPrincipal !== undefined) return !principalIs(statement.notPrincipal, context);
  return statement.principal !== undefined && principalIs(statement.principal, context);
}

/** Whether a statement whose principal matched names the caller itself, not only its account. */
function principalNamed(statement: ParsedStatement, context: ResourceRequestContext): boolean {
  const principal = statement.principal;
  if (principal === undefined) return true; // NotPrincipal: everyone but those it lists
  return (
    principal.any || (context.principalArn !== undefined && principal.arns.includes(context.principalArn))
  );
}

function principalIs(principal: PrincipalSpec, context: ResourceRequestContext): boolean {
  if (principal.any) return true;
  return (
    principal.accounts.includes(context.principalAccountId) ||
    (context.principalArn !== undefined && principal.arns.includes(context.principalArn)) ||
    (context.principalService !== undefined && principal.services.includes(context.principalService))
  );
}

/** The value of a condition key in the request's context; undefined when the request has none. */
function contextValue(key: ConditionKey, context: ResourceRequestContext): string | undefined {
  switch (key) {
    case "aws:principalorgid":
      return context.principalOrgId;
    case "aws:principalaccount":
      return context.principalAccountId;
    case "aws:principalarn":
      return context.principalArn;
    case "aws:sourcearn":
      return context.sourceArn;
    case "aws:sourceaccount":
      return context.sourceAccount;
    case "events:source":
      return context.eventSource;
    case "events:detail-type":
      return context.eventDetailType;
  }
}

function conditionHolds(test: ConditionTest & { supported: true }, context: ResourceRequestContext): boolean {
  const actual = contextValue(test.key, context);
  if (actual === undefined && test.absent !== undefined) return test.absent;
  const matches = (value: string): boolean => {
    if (actual === undefined) return false;
    switch (test.operator) {
      case "StringLike":
      case "StringNotLike":
        return globMatches(value, actual);
      case "ArnEquals":
      case "ArnLike":
      case "ArnNotEquals":
      case "ArnNotLike":
        return arnLike(value, actual);
      default:
        return value === actual;
    }
  };
  switch (test.operator) {
    case "StringEquals":
    case "StringLike":
    case "ArnEquals":
    case "ArnLike":
      return actual !== undefined && test.values.some(matches);
    case "StringNotEquals":
    case "StringNotLike":
    case "ArnNotEquals":
    case "ArnNotLike":
      // A negated operator holds when the key is absent from the request context, as in IAM.
      return actual === undefined || !test.values.some(matches);
  }
}

function checkLength(json: string): void {
  const length = Buffer.byteLength(json, "utf8");
  if (length > MAX_RESOURCE_POLICY_BYTES)
    throw new PolicyLengthExceededError(length, MAX_RESOURCE_POLICY_BYTES);
}
