export { lastOpenedDb, openDb, translateSqliteError, withReadOnlyDb, type Db } from './open';
export { closeDb } from './wal';
export { SCHEMA_VERSION } from './migrations';
export * from './runs';
export * from './queries';
export { mergeInto, type MergeResult } from './merge';
export { readRunsOfCells, type CellRunRow } from './cell-runs';
export { compileFilter, filterColumns, FILTER_COLUMNS, type CompiledFilter } from './filter-sql';
export { rescoreAll, scoredEpochColumns } from './rescore';
