/** The report layer's public surface: rows in, strings out. Nothing here opens a database. */
export type { CellSummary, EpochRow, Interval, Outcome, ParamValue, Quartiles, ReportInput, RunRow } from './types';
export { OUTCOMES } from './types';
export { checkBudget, scoreRows, thinValidationWarnings } from './score';
export { fisherExact, lgamma, quantiles, wilson } from './stats';
export { cellKey, compareParamValues, formatParamValue, isFinished, summarizeCell, summarizeCells, tallyRuns } from './cells';
export type { RunTally } from './cells';
export { CELL_FORMATS, cellToJson, csvField, formatCells } from './format';
export type { CellFormat, CellJson } from './format';
export { compareGroups, formatComparison, matchesFilter, MIN_SEEDS_PER_GROUP, parseFilter } from './compare';
export type { Comparison, Filter, FilterClause, FilterOp, Group, GroupResult } from './compare';
export { escapeHtml, renderHtmlReport } from './html';
export { boundaryChart, boundaryNote, renderBoundarySection } from './boundary';
export type { BoundaryFigureInput } from './boundary';
export { renderSvg } from './html';
