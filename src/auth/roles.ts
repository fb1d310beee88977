/**
 * IAM roles named by targets. Busbar has no roles: a target's `RoleArn` is only the identity a rule's
 * call carries (`aws:PrincipalArn` in an event bus policy), so it must be a role of the rule's own
 * account, as EventBridge requires of an execution role ("This execution role must be in the same
 * account as the event bus"), and the caller who names it must be allowed `iam:PassRole` on it, as
 * IAM asks of whoever gives a service a role.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
 */

/** The action a caller needs on a role to give it to a target. */
export const PASS_ROLE_ACTION = "iam:PassRole";

/** `arn:<partition>:iam::<account>:role/<path/name>`: the partition is group 1, the account group 2. */
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]+$/;

/** Whether `arn` names an IAM role of `accountId` in `partition`. */
export function isRoleOf(arn: string, accountId: string, partition: string): boolean {
  const m = ROLE_ARN.exec(arn);
  return m?.[1] === partition && m[2] === accountId;
}
