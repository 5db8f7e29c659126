import { InvalidArgumentError } from 'commander';
import { ConvergeError } from '../errors';

/** commander argument parsers: a bad value becomes a one-line usage error. */
export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of seconds, got "${v}"`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number of seconds (0 or more), got "${v}"`);
    return n;
  };
}

/** `--devices 0,1` or `--devices cuda:0,cuda:1`: distinct, non-empty names. */
export function deviceList(v: string): string[] {
  const devices = v.split(',').map((d) => d.trim());
  if (devices.some((d) => d === '')) throw new InvalidArgumentError(`--devices must be a comma-separated list of device names, got "${v}"`);
  const twice = devices.find((d, i) => devices.indexOf(d) !== i);
  if (twice !== undefined) throw new InvalidArgumentError(`--devices names "${twice}" twice; each device runs one run at a time`);
  return devices;
}

export function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  };
}

/** `--shard i/N`: 1-based i. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(v: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new InvalidArgumentError(`--shard must be i/N with 1 <= i <= N (e.g. 2/8), got "${v}"`);
  }
  return { index, count };
}

/*
 * A reader that goes away (`converge run … | head -1`, a closed terminal) turns the next write
 * into an EPIPE 'error' event, which unhandled kills the process with a stack trace and, for
 * `run`, leaves its claimed runs 'running'. Node ignores SIGPIPE, so the event is all there is:
 * catch it, stop writing to that stream, and let the command end as if interrupted.
 */
const closed = { stdout: false, stderr: false };
const closedListeners = new Set<(stream: 'stdout' | 'stderr') => void>();

/** Install once (cli/main.ts): errors on stdout/stderr mark the stream closed instead of crashing. */
export function watchOutputPipes(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', () => {
      if (closed[name]) return;
      closed[name] = true;
      for (const l of closedListeners) l(name);
    });
  }
}

/** Call `listener` when stdout or stderr is closed by its reader; returns the unsubscribe. */
export function onOutputClosed(listener: (stream: 'stdout' | 'stderr') => void): () => void {
  closedListeners.add(listener);
  return () => closedListeners.delete(listener);
}

export function writeOut(text: string): void {
  if (!closed.stdout) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  if (!closed.stderr) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function badInput(code: string, message: string): ConvergeError {
  return new ConvergeError(code, message);
}

export { formatDuration } from '../report/duration';

/** Plain aligned columns. */
export function alignTable(header: string[], rows: string[][]): string {
  // A reduce, not Math.max(...): spreading 100k rows as arguments overflows the call stack.
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** "1 run", "2 runs": a count with its noun in the right number. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `--set key=value`, repeatable: collects every occurrence in order. */
export function collect(v: string, previous: string[]): string[] {
  return [...previous, v];
}

/** A word as a POSIX shell would need it to be read back unchanged. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line this process was started with, as `converge …` (for "resume with" hints). */
export function invokedCommand(): string {
  return ['converge', ...process.argv.slice(2).map(shellQuote)].join(' ');
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `--max-time 90m`, `8h`, `3600s`, `1h30m`: a duration in milliseconds. A bare number is refused (seconds or minutes?). */
export function parseDuration(name: string) {
  return (v: string): number => {
    const parts = /^(?:\d+(?:\.\d+)?[smhd])+$/.test(v.trim()) ? [...v.trim().matchAll(/(\d+(?:\.\d+)?)([smhd])/g)] : [];
    const seconds = parts.reduce((sum, m) => sum + Number(m[1]) * UNIT_SECONDS[m[2]!]!, 0);
    if (parts.length === 0 || !(seconds > 0)) throw new InvalidArgumentError(`${name} must be a duration with a unit, e.g. 90m, 8h, 3600s or 1h30m, got "${v}"`);
    return seconds * 1000;
  };
}

/**
 * `--stop-at 07:30` (local time: today, or tomorrow when that time has passed) or an ISO
 * timestamp (`2026-12-03T07:30`, `2026-12-03T07:30:00Z`): the moment as epoch milliseconds.
 * A timestamp already past is refused: nothing would run.
 */
export function parseStopAt(name: string, now: () => number = Date.now) {
  return (v: string): number => {
    const t = now();
    const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim());
    if (clock) {
      const [h, m, s] = [Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0)];
      if (h > 23 || m > 59 || s > 59) throw new InvalidArgumentError(`${name} must be a time HH:MM (00:00 to 23:59) or an ISO timestamp, got "${v}"`);
      const at = new Date(t);
      at.setHours(h, m, s, 0);
      if (at.getTime() <= t) at.setDate(at.getDate() + 1);
      return at.getTime();
    }
    const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
    if (!Number.isFinite(at)) throw new InvalidArgumentError(`${name} must be a time HH:MM (local; tomorrow if already past today) or an ISO timestamp such as 2026-12-03T07:30, got "${v}"`);
    if (at <= t) throw new InvalidArgumentError(`${name} ${v} is already past (now ${new Date(t).toISOString()})`);
    return at;
  };
}

/** The invoked command without the given options (and their values), for a resume hint that should not carry them. */
export function invokedCommandWithout(options: readonly string[]): string {
  const args = process.argv.slice(2);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (options.includes(a)) {
      i += 1; // its value
      continue;
    }
    if (options.some((o) => a.startsWith(`${o}=`))) continue;
    kept.push(a);
  }
  return ['converge', ...kept.map(shellQuote)].join(' ');
}
