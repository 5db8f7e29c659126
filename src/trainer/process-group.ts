import { readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Process groups: every command run is the leader of its own group (spawned detached), so one
 * signal to the group reaches the trainer and everything it started (data loader workers, a shell's
 * children), and nothing outlives converge (wandb#4162, wandb#1579 are what happens otherwise).
 * POSIX only; the orphan check reads /proc and so needs Linux.
 */

/** Between SIGTERM and SIGKILL, unless an option says otherwise. */
export const DEFAULT_GRACE_MS = 5000;

/** How long a group may take to disappear after SIGKILL before we stop waiting for it. */
export const KILL_SETTLE_MS = 2000;

/** Enough to find a run's processes again from another converge process, safely against PID reuse. */
export interface ProcessRecord {
  host: string;
  /** The kernel's boot id: a start time means nothing after a reboot. Absent without /proc. */
  bootId?: string;
  pid: number;
  /** The process group id (equal to pid: the run's command leads its group). */
  pgid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22). Absent without /proc. */
  startTicks?: number;
}

interface ProcStat {
  state: string;
  pgid: number;
  startTicks: number;
}

/** /proc/<pid>/stat, or undefined when the process does not exist (or this is not Linux). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 is the command name in parentheses and may itself hold spaces or ')': fields 3 on
  // start after the last ')' (proc(5)).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgid: Number(fields[5 - 3]), startTicks: Number(fields[22 - 3]) };
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The record of a process just started as the leader of its own group. */
export function processRecordOf(pid: number): ProcessRecord {
  const stat = readProcStat(pid);
  const bootId = readBootId();
  return { host: hostname(), ...(bootId === undefined ? {} : { bootId }), pid, pgid: pid, ...(stat ? { startTicks: stat.startTicks } : {}) };
}

/** Signal every process of a group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/**
 * Live (not zombie) members of a group, by scanning /proc. A zombie has ended but still counts
 * for kill(2): in a container whose PID 1 does not reap orphans, a killed grandchild stays one.
 */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readProcStat(pid);
    if (stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(pid);
  }
  return members;
}

/** Does the group still have a live process? kill(-pgid, 0) first (cheap), then /proc to discount zombies. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  return liveGroupMembers(pgid).length > 0;
}

/** Resolve once the group has no live process, or false at the deadline. */
export async function waitGroupGone(pgid: number, deadline: number, pollMs = 25): Promise<boolean> {
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
}

/**
 * SIGTERM to the group, SIGKILL to whatever is left after `graceMs`; resolves when the group is
 * gone (true) or, if even SIGKILL left something (a process in uninterruptible sleep), false.
 */
export async function endGroup(pgid: number, graceMs: number): Promise<boolean> {
  if (!signalGroup(pgid, 'SIGTERM')) return true;
  if (await waitGroupGone(pgid, Date.now() + graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitGroupGone(pgid, Date.now() + KILL_SETTLE_MS);
}

export type OrphanOutcome =
  /** The group was still running and has been ended. */
  | 'ended'
  /** Nothing of it runs any more (or the host was rebooted since). */
  | 'gone'
  /** The pid now belongs to another process (its start time differs): left alone. */
  | 'reused'
  /** Recorded on another host: not ours to end. */
  | 'other-host'
  /** No start time was recorded or /proc is unavailable, so it cannot be told apart from a reused pid: left alone. */
  | 'unverifiable'
  /** SIGKILL was sent but a process of the group still runs. */
  | 'stuck';

/**
 * End what a killed converge left running, from the record it wrote when the run started. The
 * group is signalled only when it provably is the run's: the leader still has the recorded start
 * time, or (the leader gone, its children left behind) live members of that group started no
 * earlier than the leader did. A process group id stays reserved while any member lives, so such
 * members are the run's, short of the whole group ending and its number being reused in between.
 */
export async function endOrphanGroup(record: ProcessRecord, options: { graceMs?: number } = {}): Promise<OrphanOutcome> {
  if (record.host !== hostname()) return 'other-host';
  if (record.startTicks === undefined) return 'unverifiable';
  const bootId = readBootId();
  if (bootId === undefined) return 'unverifiable';
  if (record.bootId !== undefined && record.bootId !== bootId) return 'gone';
  const leader = readProcStat(record.pid);
  if (leader && leader.state !== 'Z') {
    if (leader.startTicks !== record.startTicks) return 'reused';
    if (leader.pgid !== record.pgid) return 'reused';
  } else {
    const members = liveGroupMembers(record.pgid).filter((pid) => (readProcStat(pid)?.startTicks ?? -1) >= record.startTicks!);
    if (members.length === 0) return 'gone';
  }
  return (await endGroup(record.pgid, options.graceMs ?? DEFAULT_GRACE_MS)) ? 'ended' : 'stuck';
}
