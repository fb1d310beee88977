/**
 * Event buses at run time: ARNs and the in-memory rule registry that matches events.
 */
export {
  DEFAULT_BUS,
  busArn,
  canonicalArn,
  elsewhere,
  parseArn,
  PARTITION,
  ruleArn,
  type ParsedArn,
} from "./arn.js";
export { DEFAULT_REGISTRY_QUOTAS, RuleRegistry, type RegistryQuotas, type RuleMatch } from "./registry.js";
