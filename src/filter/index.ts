/** The filter language's public surface: a pure parser; src/store compiles it to SQL. */
export { filterNames, parseFilter } from './parse';
export type { Filter, FilterClause, FilterOp, FilterValue } from './parse';
export { parseComparisonPhrase } from './comparison';
export type { ComparisonPhrase } from './comparison';
