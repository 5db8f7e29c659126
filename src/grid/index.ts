export { expandPlan, describeCell, impossibility, type Plan, type PlannedCell, type PlannedRun, type SkippedCell } from './expand';
export { canonicalJson, resolvedParamsJson, runKeyOf, cellKeyOf } from './run-key';
export { estimatePlanSeconds, estimateRunSeconds, runCost, type CostParams } from './cost';
