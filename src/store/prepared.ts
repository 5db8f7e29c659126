import type Database from 'better-sqlite3';
import type { Db } from './open';

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * `sql` compiled once per connection and reused, as better-sqlite3 advises: the claim, epoch,
 * finish and progress statements run once or more per run, on the main thread beside the
 * workers, where compiling them each time cost more than running them.
 */
export function prepared(db: Db, sql: string): Database.Statement {
  let mine = statements.get(db);
  if (!mine) statements.set(db, (mine = new Map()));
  let statement = mine.get(sql);
  if (!statement) mine.set(sql, (statement = db.prepare(sql)));
  return statement;
}
