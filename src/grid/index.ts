export { expandPlan, describeCell, impossibility, type Plan, type PlannedCell, type PlannedRun, type SkippedCell } from './expand';
export { canonicalJson, runKeyOf, cellKeyOf } from './run-key';
