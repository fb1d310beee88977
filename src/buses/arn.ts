/**
 * ARNs of Busbar's EventBridge resources, as AWS forms them.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html#amazoneventbridge-resources-for-iam-policies
 */

/** The name of every account's own bus. */
export const DEFAULT_BUS = "default";

/** `arn:aws:events:<region>:<account>:event-bus/<name>` */
export function busArn(region: string, accountId: string, name: string): string {
  return `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
}

/**
 * `arn:aws:events:<region>:<account>:rule/<bus>/<rule>`, and, as AWS does for the default bus,
 * `…:rule/<rule>` there.
 */
export function ruleArn(region: string, accountId: string, busName: string, name: string): string {
  return busName === DEFAULT_BUS
    ? `arn:aws:events:${region}:${accountId}:rule/${name}`
    : `arn:aws:events:${region}:${accountId}:rule/${busName}/${name}`;
}

/** The partition of every ARN Busbar makes. */
export const PARTITION = "aws";

/** A parsed EventBridge ARN. */
export interface ParsedArn {
  /** `aws`, `aws-cn`, `aws-us-gov`, …: Busbar's own resources are all in {@link PARTITION}. */
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly kind: "event-bus" | "rule";
  /** Bus name (for rules, the bus the rule is on). */
  readonly busName: string;
  /** Rule name, for rule ARNs. */
  readonly ruleName?: string;
}

const EVENTS_ARN = /^arn:(aws[a-z-]*):events:([a-z0-9-]+):(\d{12}):(event-bus|rule)\/(.+)$/;

/** Parses an event bus or rule ARN; `undefined` when the text is not one. */
export function parseArn(arn: string): ParsedArn | undefined {
  const m = EVENTS_ARN.exec(arn);
  if (m === null) return undefined;
  const [, partition = "", region = "", accountId = "", kind = "", rest = ""] = m;
  if (kind === "event-bus") return { partition, region, accountId, kind, busName: rest };
  const slash = rest.lastIndexOf("/");
  return slash === -1
    ? { partition, region, accountId, kind: "rule", busName: DEFAULT_BUS, ruleName: rest }
    : {
        partition,
        region,
        accountId,
        kind: "rule",
        busName: rest.slice(0, slash),
        ruleName: rest.slice(slash + 1),
      };
}

/**
 * Why an ARN does not name a resource of this node (`undefined` when it does): its partition is not
 * Busbar's, or its region not the node's.
 */
export function elsewhere(arn: ParsedArn, region: string): string | undefined {
  if (arn.partition !== PARTITION) return `partition ${arn.partition}; this endpoint serves ${PARTITION}`;
  if (arn.region !== region) return `region ${arn.region}; this endpoint serves ${region}`;
  return undefined;
}

/** The ARN Busbar writes for the bus or rule a parsed ARN names (`rule/default/x` is `rule/x`). */
export function canonicalArn(arn: ParsedArn): string {
  return arn.kind === "event-bus"
    ? busArn(arn.region, arn.accountId, arn.busName)
    : ruleArn(arn.region, arn.accountId, arn.busName, arn.ruleName ?? "");
}
