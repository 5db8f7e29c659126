/**
 * Who holds a claim, and when a holder can be declared gone before its lease runs out.
 *
 * A pid means something only inside one PID namespace on one boot of one host. Two containers
 * with the same hostname (host networking, the same `--hostname`) but their own PID namespaces
 * share a database: a pid from the other one, looked up here with kill(pid, 0), names some other
 * process or none, and a live runner's claims were expired and taken over (issue 17 item 4). So an
 * owner id carries where its pid is valid (a hash of the boot id and the PID namespace), and
 * kill(pid, 0) is asked only about owners from the same place; every other owner is alive for as
 * long as its heartbeats keep its lease (runs.ts heartbeat, claimRuns).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Db } from './open';

/**
 * Where this process's pid is valid: a hash of the boot id and the PID namespace (Linux), or the
 * platform where there are no PID namespaces; null when /proc cannot tell (then only leases count).
 */
function pidSpace(): string | null {
  if (process.platform !== 'linux') return process.platform;
  try {
    const ns = readlinkSync('/proc/self/ns/pid'); // "pid:[4026531836]"
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return createHash('sha256').update(`${boot} ${ns}`).digest('hex').slice(0, 12);
  } catch {
    return null;
  }
}

let ownSpace: string | null | undefined;
function mySpace(): string | null {
  if (ownSpace === undefined) ownSpace = pidSpace();
  return ownSpace;
}

/** A unique name for this process's claims: host/pid/pid-space/random (`-` for an unknown space). */
export function ownerId(): string {
  return `${hostname()}/${process.pid}/${mySpace() ?? '-'}/${randomBytes(6).toString('base64url')}`;
}

interface OwnerIdentity {
  host: string;
  pid: number;
  /** Where `pid` is valid; null: unknown. */
  space: string | null;
}

/**
 * The parts of an owner id written by ownerId; undefined for anything else, such as the
 * `host:pid:start` ids of earlier versions, which do not say which PID namespace their pid is in.
 */
function parseOwner(owner: string): OwnerIdentity | undefined {
  const parts = owner.split('/');
  if (parts.length < 4) return undefined;
  const [pidText, space] = parts.slice(-3);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { host: parts.slice(0, -3).join('/'), pid, space: space === '-' ? null : space! };
}

/**
 * The pid of `owner` when this process can look it up: same host, same boot, same PID namespace.
 * Undefined otherwise: that owner is alive while its lease holds.
 */
function ownerPidHere(owner: string): number | undefined {
  const o = parseOwner(owner);
  const space = mySpace();
  if (!o || space === null || o.space !== space || o.host !== hostname()) return undefined;
  return o.pid;
}

/**
 * Runs held by a process that is gone (kill -9, a crash) get their lease expired at once, so the
 * same command resumes them without waiting for the lease. Only owners whose pid can be looked
 * up here (ownerPidHere) are judged; every other owner is left to its lease. Returns the runs expired.
 */
export function expireDeadOwners(db: Db): number {
  const owners = db.prepare(`SELECT DISTINCT owner FROM runs WHERE status = 'running' AND owner IS NOT NULL`).pluck().all() as string[];
  const expire = db.prepare(`UPDATE runs SET lease_until = 0 WHERE owner = ? AND status = 'running'`);
  let n = 0;
  for (const owner of owners) {
    // The same pid as this process under another id: an earlier execution of this process.
    if (ownerGoneHere(owner)) n += expire.run(owner).changes;
  }
  return n;
}

/**
 * Whether `owner` is known to be gone: its pid can be looked up here (same host, boot and PID
 * namespace) and is dead, or is this very process under an older id. False when it cannot be told.
 */
export function ownerGoneHere(owner: string): boolean {
  const pid = ownerPidHere(owner);
  if (pid === undefined) return false;
  return pid === process.pid || !processAlive(pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
