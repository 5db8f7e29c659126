import type { SearchRunRow } from '../search';
import type { Db } from './open';

/**
 * A run of a cell as the adaptive decisions see it (search, adaptive repeats): the search
 * layer's row type, which is what they read (a store row of exactly that shape).
 */
export type CellRunRow = SearchRunRow;

/**
 * Every run of the given cells, in id order (the order they were asked for). Reads the few
 * columns of every run and filters here: no temporary table, so read-only connections can call it.
 */
export function readRunsOfCells(db: Db, cellKeys: readonly string[]): CellRunRow[] {
  if (cellKeys.length === 0) return [];
  const wanted = new Set(cellKeys);
  const hasAlive = (db.prepare(`SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'alive_at_init'`).pluck().get() as number) > 0;
  const rows = db
    .prepare(`SELECT id, cell_key AS cellKey, repeat, seed, status, outcome, ${hasAlive ? 'alive_at_init' : 'NULL'} AS aliveAtInit FROM runs ORDER BY id`)
    .all() as CellRunRow[];
  return rows.filter((r) => wanted.has(r.cellKey));
}
