/**
 * Rule operations: PutRule, DescribeRule, ListRules, EnableRule, DisableRule, DeleteRule,
 * ListRuleNamesByTarget.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
 */
import { DEFAULT_BUS, ruleArn } from "../../buses/index.js";
import { isBrokerUri, redactUri } from "../../delivery/index.js";
import { InvalidEventPatternError, compilePattern, conditionsOf } from "../../patterns/index.js";
import { RuleState, type Rule } from "../../store/index.js";
import { ApiError } from "../errors.js";
import {
  ARN,
  BUS_NAME_OR_ARN,
  RULE_NAME,
  oneOf,
  optionalBoolean,
  optionalString,
  requiredString,
  type Input,
} from "../input.js";
import { existingBus, resolveBusName } from "./buses.js";
import { scheduleExpressionProblem } from "./schedule-expression.js";
import { nextTokenOf, pageOptions, type Operation, type OperationContext } from "./context.js";
import { readTags } from "./tags.js";

/** Loads a rule or throws ResourceNotFoundException, in EventBridge's words. */
export async function existingRule(
  ctx: OperationContext,
  input: Input,
  nameMember: "Name" | "Rule",
  action?: string,
): Promise<Rule> {
  const name = requiredString(input, nameMember, RULE_NAME);
  const busNameOrArn = optionalString(input, "EventBusName", BUS_NAME_OR_ARN);
  // A rule of another account's bus is authorized before it is looked up: a caller who may not use
  // it cannot tell whether it (or its bus) exists.
  const owner = resolveBusName(ctx, busNameOrArn);
  if (action !== undefined && owner.accountId !== ctx.caller.accountId)
    ctx.authorize(action, ruleArn(ctx.region, owner.accountId, owner.name, name));
  const bus = await existingBus(ctx, busNameOrArn);
  const rule = await ctx.store.getRule(bus.accountId, bus.name, name);
  if (rule === undefined)
    throw new ApiError("ResourceNotFoundException", `Rule ${name} does not exist on EventBus ${bus.name}.`);
  return rule;
}

function describe(rule: Rule): Record<string, unknown> {
  return {
    Name: rule.name,
    Arn: rule.arn,
    ...(rule.eventPattern !== undefined && { EventPattern: rule.eventPattern }),
    ...(rule.scheduleExpression !== undefined && { ScheduleExpression: rule.scheduleExpression }),
    State: rule.state,
    ...(rule.description !== undefined && { Description: rule.description }),
    ...(rule.roleArn !== undefined && { RoleArn: rule.roleArn }),
    ...(rule.managedBy !== undefined && { ManagedBy: rule.managedBy }),
    EventBusName: rule.busName,
  };
}

const putRule: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", RULE_NAME);
  const schedule = optionalString(input, "ScheduleExpression", { max: 256 });
  const pattern = optionalString(input, "EventPattern", { max: 4096 });
  const state = oneOf("State", optionalString(input, "State") ?? RuleState.Enabled, Object.values(RuleState));
  const description = optionalString(input, "Description", { max: 512 });
  const roleArn = optionalString(input, "RoleArn", ARN);
  const tags = readTags(input, false);
  const bus = await existingBus(
    ctx,
    optionalString(input, "EventBusName", BUS_NAME_OR_ARN),
    "events:PutRule",
  );
  const arn = ruleArn(ctx.region, bus.accountId, bus.name, name);
  ctx.authorize("events:PutRule", arn);
  if (pattern === undefined && schedule === undefined) {
    throw new ApiError(
      "ValidationException",
      "Parameter(s) EventPattern or ScheduleExpression must be specified.",
    );
  }
  if (schedule !== undefined) {
    const problem = scheduleExpressionProblem(schedule);
    if (problem !== undefined) {
      throw new ApiError(
        "ValidationException",
        `Parameter ScheduleExpression is not valid. Reason: ${problem}.`,
      );
    }
    if (bus.name !== DEFAULT_BUS) {
      throw new ApiError(
        "ValidationException",
        "ScheduleExpression is supported only on the default event bus.",
      );
    }
  }
  let conditions = 0;
  if (pattern !== undefined) {
    try {
      conditions = conditionsOf(compilePattern(pattern, ctx.patternLimits));
    } catch (e) {
      if (e instanceof InvalidEventPatternError)
        throw new ApiError("InvalidEventPatternException", e.message, { cause: e });
      throw e;
    }
  }
  const { registry } = ctx;
  const { maxRuleConditions, maxRulesPerBus } = registry.quotas;
  const held = registry.conditionsAfter(bus.accountId, bus.name, name, conditions);
  if (held > maxRuleConditions) {
    throw new ApiError(
      "LimitExceededException",
      `The rules of account ${bus.accountId} would hold ${held} field conditions in all (each $or combination counting its own), more than the limit of ${maxRuleConditions} (BUSBAR_MAX_RULE_CONDITIONS). Delete rules or simplify their patterns.`,
    );
  }
  const ruleCount = registry.ruleCount(bus.accountId, bus.name);
  if (registry.getRule(bus.accountId, bus.name, name) === undefined && ruleCount >= maxRulesPerBus) {
    // More than the limit when it was lowered since (a restart with a smaller setting).
    throw new ApiError(
      "LimitExceededException",
      `The requested resource exceeds the maximum number allowed: event bus ${bus.name} has ${ruleCount} rules, and the limit is ${maxRulesPerBus} (BUSBAR_MAX_RULES_PER_BUS).`,
    );
  }
  const existing = await ctx.store.getRule(bus.accountId, bus.name, name);
  // Tags are given to a new rule only ("If you are updating an existing rule, any tags you specify in
  // the PutRule operation are ignored"), which takes events:TagResource as well.
  const tagging = existing === undefined && tags.length > 0;
  if (tagging) ctx.authorize("events:TagResource", arn);
  if (existing?.managedBy !== undefined) {
    throw new ApiError(
      "ManagedRuleException",
      `Rule ${name} is managed by ${existing.managedBy} and cannot be changed.`,
    );
  }
  const now = Date.now();
  const rule: Rule = {
    accountId: bus.accountId,
    busName: bus.name,
    name,
    arn,
    ...(pattern !== undefined && { eventPattern: pattern }),
    ...(schedule !== undefined && { scheduleExpression: schedule }),
    state,
    ...(description !== undefined && { description }),
    ...(roleArn !== undefined && { roleArn }),
    createdBy: existing?.createdBy ?? ctx.caller.accountId,
    createdAt: existing?.createdAt ?? now,
    lastModifiedAt: now,
  };
  // The rule and its tags in one transaction: a crash between them would leave a rule without the
  // tags it was made with, which a retry of PutRule would not add (tags count only on creation).
  await ctx.store.putRule(rule, tagging ? tags : []);
  ctx.registry.setRule(rule);
  return { RuleArn: arn };
};

const describeRule: Operation = async (ctx, input) => {
  const rule = await existingRule(ctx, input, "Name", "events:DescribeRule");
  ctx.authorize("events:DescribeRule", rule.arn);
  return { ...describe(rule), CreatedBy: rule.createdBy };
};

const listRules: Operation = async (ctx, input) => {
  const prefix = optionalString(input, "NamePrefix", RULE_NAME);
  const paging = pageOptions(input);
  const bus = await existingBus(
    ctx,
    optionalString(input, "EventBusName", BUS_NAME_OR_ARN),
    "events:ListRules",
  );
  ctx.authorize("events:ListRules", ruleArn(ctx.region, bus.accountId, bus.name, "*"));
  const page = await ctx.store.listRules(bus.accountId, bus.name, {
    ...(prefix !== undefined && { prefix }),
    ...paging,
  });
  return {
    Rules: page.items.map(describe),
    ...nextTokenOf(page),
  };
};

function setState(state: RuleState): Operation {
  return async (ctx, input) => {
    const action = state === RuleState.Disabled ? "events:DisableRule" : "events:EnableRule";
    const rule = await existingRule(ctx, input, "Name", action);
    ctx.authorize(action, rule.arn);
    if (rule.managedBy !== undefined) {
      throw new ApiError(
        "ManagedRuleException",
        `Rule ${rule.name} is managed by ${rule.managedBy} and cannot be changed.`,
      );
    }
    const updated: Rule = { ...rule, state, lastModifiedAt: Date.now() };
    await ctx.store.putRule(updated);
    ctx.registry.setRule(updated);
    return {};
  };
}

const deleteRule: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", RULE_NAME);
  const force = optionalBoolean(input, "Force") === true;
  const bus = await existingBus(
    ctx,
    optionalString(input, "EventBusName", BUS_NAME_OR_ARN),
    "events:DeleteRule",
  );
  ctx.authorize("events:DeleteRule", ruleArn(ctx.region, bus.accountId, bus.name, name));
  const rule = await ctx.store.getRule(bus.accountId, bus.name, name);
  if (rule === undefined) return {}; // as EventBridge: deleting a missing rule succeeds
  if (rule.managedBy !== undefined && !force) {
    throw new ApiError(
      "ManagedRuleException",
      `Rule ${name} is managed by ${rule.managedBy}; use Force to delete it.`,
    );
  }
  if ((await ctx.store.listTargets(bus.accountId, bus.name, name)).length > 0) {
    throw new ApiError("ValidationException", "Rule can't be deleted since it has targets.");
  }
  // With its tags, in one transaction.
  await ctx.store.deleteRule(bus.accountId, bus.name, name);
  ctx.registry.deleteRule(bus.accountId, bus.name, name);
  await ctx.dropDeliveries({ accountId: bus.accountId, busName: bus.name, ruleName: name });
  return {};
};

const listRuleNamesByTarget: Operation = async (ctx, input) => {
  const targetArn = requiredString(input, "TargetArn", ARN);
  const paging = pageOptions(input);
  const bus = await existingBus(
    ctx,
    optionalString(input, "EventBusName", BUS_NAME_OR_ARN),
    "events:ListRuleNamesByTarget",
  );
  ctx.authorize("events:ListRuleNamesByTarget", ruleArn(ctx.region, bus.accountId, bus.name, "*"));
  // A broker target with a secret is stored under its redacted URI; either form finds it.
  const stored = isBrokerUri(targetArn) ? redactUri(targetArn) : targetArn;
  const page = await ctx.store.listRuleNamesByTarget(bus.accountId, bus.name, stored, paging);
  return { RuleNames: page.items, ...nextTokenOf(page) };
};

/** The rule operations by name. */
export const ruleOperations: Readonly<Record<string, Operation>> = {
  PutRule: putRule,
  DescribeRule: describeRule,
  ListRules: listRules,
  EnableRule: setState(RuleState.Enabled),
  DisableRule: setState(RuleState.Disabled),
  DeleteRule: deleteRule,
  ListRuleNamesByTarget: listRuleNamesByTarget,
};
