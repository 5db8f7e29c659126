/** The search layer: pure decisions over observed runs (boundary search, adaptive repeats). No I/O. */
export { CHI2_1_95, expectedInformation, fitBoundary, logit, penalizedLoglik, sigmoid, thetaVarianceWith } from './logistic';
export type { Estimate, Fit, FitOptions, Information, Probe } from './logistic';
export { seedClusterCut, seedVariance } from './seed-clusters';
export { fitToppedBoundary, toppedLoglik } from './topped';
export type { SeededRun, SeedVariance } from './seed-clusters';
export { candidateValues, fitSearch, nextSearchStep, tallyProbes } from './boundary';
export type { Among, BoundaryAnswer, Observation, RunRequest, SearchSettings, SearchStep, Verdict } from './boundary';
export { seedOutcome, seedsWanted, undecided } from './adaptive';
export type { AdaptiveRepeats, SeedOutcome } from './adaptive';
export { expandSearch, searchCellKey, searchRun } from './plan';
export type { Boundary, SearchPlan } from './plan';
export { evaluateExpression } from './expr';
export { budgetedStep, countOfRow, leastSettled, searchCellKeys, searchStates } from './state';
export type { BoundaryState, BudgetState, SearchRunRow } from './state';
