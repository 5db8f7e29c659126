export { expandPlan, describeCell, impossibility, userCellParams, type Plan, type PlannedCell, type PlannedRun, type SkippedCell } from './expand';
export { canonicalJson, resolvedParamsJson, runKeyOf, cellKeyOf, trainerIdentity, userCellKeyOf, userParamsJson, userRunKeyOf } from './run-key';
export { estimatePlanSeconds, estimateRunSeconds, runCost, USER_RUN_COST, type CostParams } from './cost';
