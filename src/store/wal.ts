/**
 * The files SQLite keeps beside a database in WAL mode (-wal, -shm), seen from both ends: how a
 * reader opens a database without creating them or needing a writable folder, and how a writer
 * leaves a finished database as one self-contained file.
 */
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ConvergeError, EXIT } from '../errors';
import type { Db } from './open';

/** SQLite's file header says WAL mode: read and write versions 2 at bytes 18-19 (fileformat2.html#file_format_version_numbers). */
function headerSaysWal(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    return readSync(fd, buf, 0, 2, 18) === 2 && buf[0] === 2 && buf[1] === 2;
  } finally {
    closeSync(fd);
  }
}

function folderWritable(file: string): boolean {
  try {
    accessSync(dirname(resolve(file)), fsConstants.W_OK);
    return true;
  } catch {
    return false; // EROFS on a read-only mount, EACCES for a folder we may not write
  }
}

/**
 * A reader's connection. Even to read a WAL-mode database SQLite needs its -wal and -shm files:
 * it creates them when missing (and a read-only connection cannot remove them when it closes),
 * and in a read-only folder it cannot open the database at all (SQLITE_CANTOPEN; "WAL databases
 * on read-only media", https://www.sqlite.org/wal.html#readonly). So:
 * - a database in rollback mode (how closeDb leaves a finished one) is opened as it is;
 * - a WAL-mode database with no -wal file (no connection has it open: the last one to close
 *   folded the WAL in and removed it; older converge versions left every database so) is read
 *   from a copy in memory, which creates nothing beside it and needs no writable folder.
 *   SQLite's `immutable=1` would do the same without the copy, but better-sqlite3 is built
 *   without URI filenames (SQLITE_USE_URI=0 in its deps/defines.gypi);
 * - a WAL-mode database with a -wal file is being written (or its writer was killed): opened
 *   live, through the files that are already there, so `status --watch` sees the progress.
 */
export function openReader(file: string): Db {
  const plain = () => {
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 15000 });
    try {
      // SQLite opens the -wal and -shm files at the first read, not at sqlite3_open: read now.
      db.pragma('schema_version');
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  };
  if (!headerSaysWal(file)) return plain();
  const wal = `${file}-wal`;
  if (!existsSync(wal)) return readCopy(file) ?? plain();
  try {
    return plain();
  } catch (e) {
    if ((e as { code?: string }).code !== 'SQLITE_CANTOPEN' || folderWritable(file)) throw e;
    // The -wal is there but not the -shm, which this folder cannot hold: an empty WAL adds nothing.
    const copy = statSync(wal).size === 0 ? readCopy(file) : undefined;
    if (copy) return copy;
    throw new ConvergeError(
      'store.readOnlyWal',
      `${file}: has writes still in its -wal file, and SQLite cannot read them in a read-only folder without a -shm file beside it; copy the database with its -wal file to a writable folder and read the copy`,
      { exitCode: EXIT.store, cause: e },
    );
  }
}

/**
 * The database file read into memory, as a rollback-mode image. undefined when it cannot be
 * used: larger than a Buffer can hold, or a writer opened the file meanwhile (its -wal appeared,
 * and a checkpoint into the file could have torn the copy), so it is read live instead.
 */
function readCopy(file: string): Db | undefined {
  let image: Buffer;
  try {
    image = readFileSync(file);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_FS_FILE_TOO_LARGE') return undefined;
    throw e;
  }
  if (existsSync(`${file}-wal`)) return undefined;
  // An in-memory database has no WAL: an image that says WAL is refused (SQLITE_CANTOPEN).
  image[18] = 1;
  image[19] = 1;
  return new Database(image, { readonly: true });
}

/** How long a closing writer retries leaving WAL mode while another connection is attached. */
const SWITCH_TRIES = 10;
const SWITCH_PAUSE_MS = 25;

/**
 * Close a connection. A writer first leaves the file self-contained: switching back to rollback
 * mode folds the WAL into the database file and removes -wal and -shm, so a finished database
 * copied or mounted read-only is complete and its readers create nothing beside it (openReader).
 * SQLite refuses the switch at once (SQLITE_BUSY, without waiting) while another connection has
 * the file open. A reader holds it for a moment (`status --watch` opens it per frame), so the
 * switch is retried briefly; another runner holds it for its whole run, and then the WAL is
 * folded in as far as that runner allows and the last writer to close switches the mode.
 */
export function closeDb(db: Db): void {
  if (db.open && !db.readonly && !db.memory) {
    try {
      leaveWal(db);
    } catch {
      // Closing must not hide why the command stopped (a database refusing writes): the WAL
      // stays beside the file, complete, and the next connection folds it in.
    }
  }
  db.close();
}

function leaveWal(db: Db): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 1; ; i++) {
    try {
      db.pragma('journal_mode = DELETE');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || i === SWITCH_TRIES) break;
      Atomics.wait(pause, 0, 0, SWITCH_PAUSE_MS);
    }
  }
  db.pragma('wal_checkpoint(PASSIVE)');
}
