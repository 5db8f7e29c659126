import { spawnSync } from 'node:child_process';

/**
 * The Python 3 interpreter itself, resolved once: `python3` on PATH may be a launcher script
 * (pyenv's shim is a bash script) that costs more per start than the small trainers under test.
 */
export const PYTHON: string = (() => {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 is needed by the command trainer tests: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
})();

/** A trainer written inline: argv running `code` with the interpreter. */
export function python(code: string, ...args: string[]): string[] {
  return [PYTHON, '-c', code, ...args];
}

/** Is this process still running? A zombie (ended, not yet reaped) is not: `ps` shows it as Z. */
export function running(pid: number): boolean {
  const r = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  const stat = r.stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}
