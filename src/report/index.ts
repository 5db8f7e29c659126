/** The report layer's public surface: rows in, strings out. Nothing here opens a database. */
export type { CellSummary, EpochRow, Interval, Outcome, ParamValue, Quartiles, ReportInput, RunRow } from './types';
export { OUTCOMES } from './types';
export { checkBudget, scoreRows, thinValidationWarnings } from './score';
export { binomialTestHalf, fisherExact, lgamma, mcnemarExact, newcombeIndependent, newcombePaired, quantiles, wilson } from './stats';
export type { DifferenceInterval } from './stats';
export { cellKey, compareParamValues, formatParamValue, isFinished, summarizeCell, summarizeCells, tallyRuns } from './cells';
export type { RunTally } from './cells';
export { CELL_FORMATS, cellToJson, csvField, formatCells } from './format';
export type { CellFormat, CellJson } from './format';
export { compareGroups, differingSettings, formatComparison, MIN_DISCORDANT_PAIRS, MIN_SEEDS_PER_GROUP } from './compare';
export type { Comparison, CompareTest, Group, GroupResult, SettingDifference } from './compare';
export { escapeHtml, MAX_POINTS_PER_RUN, renderHtmlReport, varyingAxes, wrapPairs } from './html';
export { downsampleSeries } from './series';
export { fixedSettings, headerFields, headerLines } from './header';
export type { HeaderField, ReportContext } from './header';
export { budgetCurves } from './budget';
export type { BudgetPoint } from './budget';
