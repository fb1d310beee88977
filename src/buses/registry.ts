/**
 * The rules of every bus in memory: one compiled matcher per bus, holding the enabled rules with an
 * event pattern, and the target ids of each rule. Kept in step with the store by the API operations
 * (a change applies to events accepted after it returns: EventBridge's eventual consistency, here
 * immediate), and rebuilt from the store at start-up.
 */
import { Matcher, compilePattern, conditionsOf, type PatternLimits } from "../patterns/index.js";
import type { EventBus, Rule, Target } from "../store/index.js";

/** A rule an event matched, with the targets to deliver it to. */
export interface RuleMatch {
  readonly ruleName: string;
  readonly targetIds: readonly string[];
}

/** A rule with its targets, as the delivery engine looks them up. */
export interface RuleTargets {
  readonly rule: Rule;
  /** By target id. */
  readonly targets: ReadonlyMap<string, Target>;
  readonly targetIds: readonly string[];
}

interface BusRules {
  bus: EventBus | undefined;
  readonly matcher: Matcher<string>;
  /** Every rule of the bus (enabled or not), with its targets. */
  readonly rules: Map<string, RuleTargets>;
}

const NO_TARGETS: ReadonlyMap<string, Target> = new Map();

const key = (accountId: string, busName: string): string => `${accountId}\u0000${busName}`;
const ruleKey = (accountId: string, busName: string, name: string): string =>
  `${key(accountId, busName)}\u0000${name}`;

/** What one account may hold, which the API operations enforce (LimitExceededException). */
export interface RegistryQuotas {
  /**
   * BUSBAR_MAX_RULE_CONDITIONS: the field conditions, over every `$or` combination, that one account's
   * rules may hold in all: each costs a matcher about 0.9 KB where rules share no state.
   */
  readonly maxRuleConditions: number;
  /** BUSBAR_MAX_RULES_PER_BUS: rules on one bus, enabled or not (EventBridge's default quota, 300). */
  readonly maxRulesPerBus: number;
  /** BUSBAR_MAX_BUSES_PER_ACCOUNT: buses of one account, its default bus included (EventBridge's, 100). */
  readonly maxBusesPerAccount: number;
}

/** The quotas' defaults. */
export const DEFAULT_REGISTRY_QUOTAS: RegistryQuotas = Object.freeze({
  maxRuleConditions: 100_000,
  maxRulesPerBus: 300,
  maxBusesPerAccount: 100,
});

/** Matchers and targets of all buses. */
export class RuleRegistry {
  private readonly buses = new Map<string, BusRules>();
  /** The field conditions of each rule with an event pattern (enabled or not), by account, bus and rule. */
  private readonly ruleConditions = new Map<string, number>();
  /** Their sum by account. */
  private readonly accountConditions = new Map<string, number>();
  /** The buses of each account (those set with {@link setBus}). */
  private readonly accountBuses = new Map<string, number>();
  #matchSteps = 0;

  /**
   * `quotas`: what one account may hold, which the API operations check against {@link conditionsAfter},
   * {@link ruleCount} and {@link busCount}, so that an account cannot take the node's memory (every
   * bus, rule and target is held here) or have one event fan out without bound.
   */
  constructor(
    private readonly limits: PatternLimits,
    readonly quotas: RegistryQuotas = DEFAULT_REGISTRY_QUOTAS,
  ) {}

  /** The rules of a bus, enabled or not. */
  ruleCount(accountId: string, busName: string): number {
    return this.buses.get(key(accountId, busName))?.rules.size ?? 0;
  }

  /** The buses of an account. */
  busCount(accountId: string): number {
    return this.accountBuses.get(accountId) ?? 0;
  }

  /** The field conditions `accountId`'s rules would hold with rule `name` of `busName` holding `conditions`. */
  conditionsAfter(accountId: string, busName: string, name: string, conditions: number): number {
    const held = this.accountConditions.get(accountId) ?? 0;
    return held - (this.ruleConditions.get(ruleKey(accountId, busName, name)) ?? 0) + conditions;
  }

  /** Records the conditions of a rule (0: none, or gone). */
  private count(accountId: string, busName: string, name: string, conditions: number): void {
    const rule = ruleKey(accountId, busName, name);
    const total = this.conditionsAfter(accountId, busName, name, conditions);
    if (conditions === 0) this.ruleConditions.delete(rule);
    else this.ruleConditions.set(rule, conditions);
    if (total === 0) this.accountConditions.delete(accountId);
    else this.accountConditions.set(accountId, total);
  }

  private bus(accountId: string, busName: string): BusRules {
    const k = key(accountId, busName);
    let b = this.buses.get(k);
    if (b === undefined) {
      b = { bus: undefined, matcher: new Matcher<string>(this.limits), rules: new Map() };
      this.buses.set(k, b);
    }
    return b;
  }

  /** Adds or replaces a bus's description (its rules are kept). */
  setBus(bus: EventBus): void {
    const b = this.bus(bus.accountId, bus.name);
    if (b.bus === undefined) this.accountBuses.set(bus.accountId, this.busCount(bus.accountId) + 1);
    b.bus = bus;
  }

  /** A bus, if it exists. */
  getBus(accountId: string, busName: string): EventBus | undefined {
    return this.buses.get(key(accountId, busName))?.bus;
  }

  /**
   * Adds or replaces a rule: it matches only while enabled and when it has an event pattern, and not at
   * all when `matching` is false (a stored rule whose pattern a newer limit refuses: its targets still
   * get the events it matched before).
   */
  setRule(rule: Rule, matching = true): void {
    const b = this.bus(rule.accountId, rule.busName);
    const compiled =
      rule.eventPattern === undefined || !matching
        ? undefined
        : compilePattern(rule.eventPattern, this.limits);
    if (rule.state !== "DISABLED" && compiled !== undefined) b.matcher.add(rule.name, compiled);
    else b.matcher.remove(rule.name);
    this.count(rule.accountId, rule.busName, rule.name, compiled === undefined ? 0 : conditionsOf(compiled));
    const had = b.rules.get(rule.name);
    b.rules.set(rule.name, {
      rule,
      targets: had?.targets ?? NO_TARGETS,
      targetIds: had?.targetIds ?? [],
    });
  }

  /** A rule with its targets, if it exists. */
  getRule(accountId: string, busName: string, ruleName: string): RuleTargets | undefined {
    return this.buses.get(key(accountId, busName))?.rules.get(ruleName);
  }

  /** Every rule of a bus (enabled or not), with its targets; none for an unknown bus. */
  rulesOf(accountId: string, busName: string): readonly RuleTargets[] {
    return [...(this.buses.get(key(accountId, busName))?.rules.values() ?? [])];
  }

  /** Forgets a rule and its targets. */
  deleteRule(accountId: string, busName: string, ruleName: string): void {
    const b = this.buses.get(key(accountId, busName));
    if (b === undefined) return;
    b.matcher.remove(ruleName);
    b.rules.delete(ruleName);
    this.count(accountId, busName, ruleName, 0);
  }

  /** Sets the targets of a rule (known to the registry: see {@link setRule}). */
  setTargets(accountId: string, busName: string, ruleName: string, targets: readonly Target[]): void {
    const r = this.buses.get(key(accountId, busName))?.rules.get(ruleName);
    if (r === undefined) return;
    const sorted = [...targets].sort((a, c) => (a.id < c.id ? -1 : a.id > c.id ? 1 : 0));
    this.bus(accountId, busName).rules.set(ruleName, {
      rule: r.rule,
      targets: new Map(sorted.map((t) => [t.id, t])),
      targetIds: sorted.map((t) => t.id),
    });
  }

  /** The steps of every {@link match} so far (`Matcher.steps`): a caller compares two readings. */
  get matchSteps(): number {
    return this.#matchSteps;
  }

  /** Forgets a bus and everything on it. */
  deleteBus(accountId: string, busName: string): void {
    const b = this.buses.get(key(accountId, busName));
    if (b === undefined) return;
    for (const name of b.rules.keys()) this.count(accountId, busName, name, 0);
    if (b.bus !== undefined) {
      const left = this.busCount(accountId) - 1;
      if (left === 0) this.accountBuses.delete(accountId);
      else this.accountBuses.set(accountId, left);
    }
    this.buses.delete(key(accountId, busName));
  }

  /**
   * The rules of a bus that match an event envelope (JSON text), with their targets. `valid`: the
   * envelope is known to be valid JSON (see `Matcher.matchJson`). Throws `InvalidEventJsonError`.
   */
  match(accountId: string, busName: string, eventJson: string, valid = false): RuleMatch[] {
    const b = this.buses.get(key(accountId, busName));
    if (b === undefined) return [];
    // Scanned even without rules, so that an event too deeply nested is refused whatever the rules.
    try {
      return b.matcher
        .matchJson(eventJson, valid)
        .map((ruleName) => ({ ruleName, targetIds: b.rules.get(ruleName)?.targetIds ?? [] }));
    } finally {
      this.#matchSteps += b.matcher.steps;
    }
  }
}
