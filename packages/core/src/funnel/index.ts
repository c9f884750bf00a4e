// The funnel, read top to bottom:
//   graph.ts     the graph's types, the lists its rules draw from, and how nodes are named
//   match.ts     whether a visit matches a condition rule (country, ip range, local weekday…)
//   route.ts     walking the graph for one visit: weighted picks, conditions, actions
//   validate.ts  what a funnel must satisfy before it is saved
// Only what callers use leaves the folder.
export {
  type ActionResolution,
  type ActionTriggers,
  type ConditionRoute,
  type FunnelAction,
  type FunnelGraph,
  type FunnelNode,
  type FunnelProblem,
  type NodeConfig,
  type NodeKind,
  problemLabel,
  type Resolution,
  type Route,
  RULE_FIELDS,
  RULE_OPS,
  type Rule,
  type RuleField,
  type RuleOp,
  type VisitContext,
  WEEKDAYS,
} from "./graph.ts";
export {
  conditionRouteMatches,
  type IpRange,
  isValidTimeZone,
  localWeekdayHour,
  parseIpRange,
  ruleMatches,
} from "./match.ts";
export { MAX_ROUTING_STEPS, mulberry32, resolveAction, resolveFromNode, weightedPick } from "./route.ts";
export { validateFunnel } from "./validate.ts";
