import type { Db } from './open';
import { prepared } from './prepared';

export type TrainerKind = 'builtin' | 'module' | 'command';

/**
 * Whose code trains the plan's runs: one spec has one trainer, so the newest run of the plan says
 * (read by id from the end: no scan, cheap enough for `status --watch`). 'builtin' for a database
 * from before schema 6, or with no run yet.
 */
export function readTrainerKind(db: Db): TrainerKind {
  if (prepared(db, `SELECT 1 FROM pragma_table_info('runs') WHERE name = 'trainer'`).get() === undefined) return 'builtin';
  const t = prepared(db, `SELECT trainer FROM runs WHERE in_plan = 1 ORDER BY id DESC LIMIT 1`).pluck().get() as TrainerKind | undefined;
  return t ?? 'builtin';
}

/** Whether any run (retired ones too) was trained by a user's module or command. */
export function hasUserRuns(db: Db): boolean {
  if (prepared(db, `SELECT 1 FROM pragma_table_info('runs') WHERE name = 'trainer'`).get() === undefined) return false;
  if (readTrainerKind(db) !== 'builtin') return true;
  return prepared(db, `SELECT 1 FROM runs WHERE in_plan = 0 AND trainer <> 'builtin' LIMIT 1`).get() !== undefined;
}
