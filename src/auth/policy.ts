/**
 * IAM-style identity policies: which actions on which resources an access key may perform.
 *
 * Supported: `Version` (`2012-10-17`, `2008-10-17`, or absent, which IAM reads as `2008-10-17`), `Id`,
 * `Statement` as one object or an array; per statement `Sid` (unique), `Effect`, `Action`/`NotAction`
 * with `*` and `?` wildcards, matched case-insensitively, and `Resource`/`NotResource` as `*` or ARNs
 * with wildcards, matched case-sensitively, each wildcard staying inside its ARN segment except in the
 * trailing resource part. `Condition` is rejected as unsupported rather than ignored, so that a policy
 * never grants more than its author meant; `Principal` does not belong in an identity policy.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 */
import {
  parsePolicyDocument,
  type Decision,
  type MatchList,
  type ParsedPolicy,
  type ParsedStatement,
} from "./policy-document.js";

export type { Decision, ParsedPolicy, ParsedStatement } from "./policy-document.js";

/**
 * Parses and validates an identity policy document given as JSON text.
 * @throws MalformedPolicyError naming the offending element (`Statement[0].Action`) and the rule.
 */
export function parsePolicy(json: string): ParsedPolicy {
  return parsePolicyDocument(json, "identity").policy;
}

/**
 * Evaluates identity policies for one request: an explicit `Deny` in any statement that matches wins;
 * otherwise a matching `Allow` allows; otherwise the request is implicitly denied.
 * @param action The service-prefixed action, e.g. `events:PutEvents`.
 * @param resource The ARN of the resource acted upon.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
 */
export function evaluate(policies: readonly ParsedPolicy[], action: string, resource: string): Decision {
  let allowed = false;
  for (const policy of policies) {
    for (const statement of policy.statements) {
      if (!statementMatches(statement, action, resource)) continue;
      if (statement.effect === "Deny") return "ExplicitDeny";
      allowed = true;
    }
  }
  return allowed ? "Allow" : "ImplicitDeny";
}

/** Whether a statement's action and resource elements cover a request (principal and conditions aside). */
export function statementMatches(statement: ParsedStatement, action: string, resource: string): boolean {
  return listMatches(statement.action, action) && listMatches(statement.resource, resource);
}

function listMatches(list: MatchList, value: string): boolean {
  const any = list.matchers.some((m) => m.test(value));
  return list.negated ? !any : any;
}
