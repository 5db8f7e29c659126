import type { Db } from './open';

/** A run of a cell as the adaptive decisions see it (search, adaptive repeats). */
export interface CellRunRow {
  id: number;
  cellKey: string;
  repeat: number;
  seed: number;
  status: 'pending' | 'running' | 'done' | 'failed';
  outcome: string | null;
  /** 1/0 when the database records alive-at-initialisation, else null. */
  aliveAtInit: number | null;
}

/** Every run of the given cells, in id order (the order they were asked for). */
export function readRunsOfCells(db: Db, cellKeys: readonly string[]): CellRunRow[] {
  if (cellKeys.length === 0) return [];
  const hasAlive = (db.prepare(`SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'alive_at_init'`).pluck().get() as number) > 0;
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS wanted_cells (cell_key TEXT PRIMARY KEY)`);
  return db
    .transaction(() => {
      db.exec(`DELETE FROM wanted_cells`);
      const add = db.prepare(`INSERT OR IGNORE INTO wanted_cells (cell_key) VALUES (?)`);
      for (const k of cellKeys) add.run(k);
      return db
        .prepare(
          `SELECT id, cell_key AS cellKey, repeat, seed, status, outcome, ${hasAlive ? 'alive_at_init' : 'NULL'} AS aliveAtInit
           FROM runs WHERE cell_key IN (SELECT cell_key FROM wanted_cells) ORDER BY id`,
        )
        .all() as CellRunRow[];
    })
    .deferred();
}
