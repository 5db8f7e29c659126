import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ConvergeError, EXIT } from '../errors';
import { retryWhileBusySync, writerBusyTimeoutMs } from './busy';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations';
import { openReader } from './wal';

export type Db = Database.Database;

export interface OpenOptions {
  /** Open read-only (status, report, query): never writes, never creates, never migrates. */
  readonly?: boolean;
  /**
   * The sweep a writer is about to record: a database that holds another one is refused with
   * store.otherSweep before anything is written to the file (syncPlan refuses it too, later).
   */
  sweep?: string;
  /** Told how long (seconds) a writer's open has waited for another process's lock; it keeps waiting (store/busy.ts). */
  onLockWait?(seconds: number): void;
}

const storeError = (code: string, message: string, cause?: unknown) =>
  new ConvergeError(code, message, { exitCode: EXIT.store, cause });

function sniff(file: string): 'empty' | 'sqlite' | 'yaml-ish' | 'other' {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    if (n === 0) return 'empty';
    if (n === 16 && buf.toString('latin1') === 'SQLite format 3\u0000') return 'sqlite';
    const head = buf.subarray(0, n).toString('utf8');
    return /^(#|name:|---|[a-z_]+:)/.test(head) ? 'yaml-ish' : 'other';
  } finally {
    closeSync(fd);
  }
}

/** Map SQLite's own failures on open/first read to our codes. */
export function translateSqliteError(file: string, e: unknown): ConvergeError {
  const code = (e as { code?: string }).code ?? '';
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return storeError('store.corrupt', `${file}: the database file is corrupted (${code}); restore it from a copy, or start a new one with --db`, e);
  }
  if (code === 'SQLITE_BUSY') {
    return storeError('store.busy', `${file}: the database stayed locked by another process for too long; retry`, e);
  }
  if (code === 'SQLITE_CANTOPEN') {
    return storeError('store.cantOpen', `${file}: cannot open the database (${code}); check the path and permissions`, e);
  }
  return storeError('store.error', `${file}: ${(e as Error).message}`, e);
}

function checkFile(file: string, mustExist: boolean): void {
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) {
    throw storeError('store.noFolder', `${file}: the folder ${dir} does not exist; create it first or choose another --db path`);
  }
  if (!existsSync(file)) {
    if (mustExist) throw storeError('store.notFound', `${file}: no such database; run \`converge run <spec> --db ${file}\` first`);
    return;
  }
  if (statSync(file).isDirectory()) throw storeError('store.notDatabase', `${file}: is a folder, not a converge database`);
  const kind = sniff(file);
  if (kind === 'yaml-ish') {
    throw storeError('store.isSpec', `${file}: looks like a sweep spec, not a database; give the database (results/<name>.db) here`);
  }
  if (kind === 'other') {
    throw storeError('store.notDatabase', `${file}: is not a converge database (not a SQLite file); check the path`);
  }
  if (kind === 'empty' && mustExist) {
    throw storeError('store.notConverge', `${file}: is an empty file, not a converge database`);
  }
}

function userVersion(db: Db, file: string): number {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  if (tables.length === 0) return 0;
  if (!tables.includes('meta')) {
    throw storeError('store.notConverge', `${file}: is a SQLite database but not a converge one (no meta table); choose another --db path`);
  }
  const app = db.prepare(`SELECT value FROM meta WHERE key = 'app'`).pluck().get() as string | undefined;
  if (app !== 'converge') {
    throw storeError('store.notConverge', `${file}: is a SQLite database but not a converge one; choose another --db path`);
  }
  const v = Number(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get() ?? 0);
  if (v > SCHEMA_VERSION) {
    throw storeError(
      'store.schemaTooNew',
      `${file}: was written by a newer converge (schema version ${v}; this one knows up to ${SCHEMA_VERSION}); upgrade converge to read it`,
    );
  }
  return v;
}

/**
 * Open (and for writers create/migrate) a sweep database. Writers use WAL so readers
 * (`status`, `report`, `query`) see partial progress without blocking them, and a busy
 * timeout so two `converge run` processes on one file wait for each other's short
 * transactions instead of failing with "database is locked".
 */
export function openDb(file: string, options: OpenOptions = {}): Db {
  const readonly = options.readonly ?? false;
  lastOpened = file;
  checkFile(file, readonly);
  let db: Db | undefined;
  try {
    // A writer's busy timeout is one attempt's wait: its writes retry past it (store/busy.ts).
    db = readonly ? openReader(file) : new Database(file, { readonly, fileMustExist: readonly, timeout: writerBusyTimeoutMs() });
    // Check what the file is before anything can write to it: switching a file to WAL rewrites
    // its header, so doing that first would modify another app's SQLite file, a newer
    // converge's database, or (closeDb leaves a finished database in rollback mode) a converge
    // database of another sweep or a damaged one before refusing it.
    // A file in rollback mode (new, or left so by closeDb) is read under another writer's lock
    // while that writer switches it to WAL: these reads wait it out like every write.
    const wait = { onWait: options.onLockWait };
    const v = retryWhileBusySync('open', () => userVersion(db!, file), wait);
    if (!readonly && v > 0) {
      // A writer must not build on a damaged file: SQLite only notices corruption on the pages a
      // statement happens to read, so without this `run` could train for hours into a broken
      // database. quick_check reads every page once: ~0.4 s for 10,000 runs of 50 epochs (40 MB).
      retryWhileBusySync('open', () => {
        checkIntegrity(db!, file);
        if (options.sweep !== undefined) refuseOtherSweep(db!, file, options.sweep);
      }, wait);
    }
    if (!readonly) {
      retryWhileBusySync('open', () => db!.pragma('journal_mode = WAL'), wait);
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (readonly) {
      if (v === 0) throw storeError('store.notConverge', `${file}: holds no converge sweep yet`);
      return db;
    }
    if (v < SCHEMA_VERSION) retryWhileBusySync('migrate', () => migrate(db!, file), wait);
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof ConvergeError) throw e;
    throw translateSqliteError(file, e);
  }
}

let lastOpened: string | undefined;

/**
 * The database file this process opened last. A reader only meets corruption on the pages it
 * reads, long after openDb returned; cli/main.ts uses this to name the file in store.corrupt.
 */
export function lastOpenedDb(): string | undefined {
  return lastOpened;
}

function refuseOtherSweep(db: Db, file: string, sweep: string): void {
  checkSameSweep(file, db.prepare(`SELECT name FROM sweep WHERE id = 1`).pluck().get() as string | undefined, sweep);
}

/** store.otherSweep when the database (`held`: its sweep's name, undefined when new) holds another sweep than `sweep`. */
export function checkSameSweep(file: string, held: string | undefined, sweep: string): void {
  if (held !== undefined && held !== sweep) {
    throw new ConvergeError('store.otherSweep', `${file}: holds sweep "${held}", not "${sweep}"; use --db to choose another database for this spec`, { exitCode: EXIT.badInput });
  }
}

function checkIntegrity(db: Db, file: string): void {
  const verdict = db.pragma('quick_check(1)', { simple: true }) as string;
  if (verdict !== 'ok') {
    // The verdict spans lines ("*** in database main ***\nTree 4 page 4: …"); errors are one line.
    const detail = verdict.replace(/\*\*\* in database \w+ \*\*\*/g, '').trim().replace(/\s*\n\s*/g, '; ');
    throw storeError('store.corrupt', `${file}: the database file is corrupted (${detail}); restore it from a copy, or start a new one with --db`);
  }
}

function migrate(db: Db, file: string): void {
  // A migration may rebuild a table (SQLite cannot alter a CHECK): with foreign keys on, dropping
  // the old runs table would cascade into epochs. The pragma is a no-op inside a transaction, so
  // it is switched around it, and foreign_key_check proves the rebuilt tables still line up.
  db.pragma('foreign_keys = OFF');
  try {
    migrateInTransaction(db, file);
  } finally {
    db.pragma('foreign_keys = ON');
  }
}

function migrateInTransaction(db: Db, file: string): void {
  db.transaction(() => {
    // Read the version again under the write lock: two `converge run` started at once on a new
    // file both saw version 0 above, and the second one must not create the tables again
    // ("table meta already exists").
    const from = userVersion(db, file);
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw storeError('store.migration', `${file}: migrating to schema ${SCHEMA_VERSION} left ${broken.length} rows with a dangling foreign key; nothing was changed`);
    db.prepare(`INSERT INTO meta (key, value) VALUES ('app', 'converge') ON CONFLICT (key) DO NOTHING`).run();
    db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(
      String(SCHEMA_VERSION),
    );
  }).immediate();
}

/** Open `file` read-only, run `fn`, and close it whatever happens (report, compare, query). */
export function withReadOnlyDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
