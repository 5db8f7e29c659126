import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { ConvergeError } from '../errors';

/**
 * Where a command's program is, found the way execvp(3) finds it: a name with a `/` is a path
 * (relative to the run's working directory), any other name is looked up in PATH. Checked when
 * the sweep is loaded, so a typo is refused before anything is written, not after a whole sweep
 * of runs failed one by one (hydra#2284, wandb#5088).
 */

function executableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of the program, or undefined when no executable file answers to it. */
export function findProgram(program: string, options: { cwd: string; env?: NodeJS.ProcessEnv }): string | undefined {
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(options.cwd, program);
    return executableFile(path) ? path : undefined;
  }
  const dirs = ((options.env ?? process.env).PATH ?? '').split(delimiter);
  for (const dir of dirs) {
    // An empty PATH entry means the current directory (POSIX).
    const path = resolve(options.cwd, join(dir || '.', program));
    if (executableFile(path)) return path;
  }
  return undefined;
}

/** Refuse a program that cannot be started, in one line: `where` says where the command was written. */
export function checkProgram(program: string, options: { cwd: string; env?: NodeJS.ProcessEnv; where?: string }): string {
  const found = findProgram(program, options);
  if (found !== undefined) return found;
  const at = options.where ? `${options.where}: ` : '';
  const why = program.includes('/') ? `no executable file at ${resolve(options.cwd, program)}` : 'it is not on PATH';
  throw new ConvergeError('spec.programNotFound', `${at}cannot run "${program}": ${why}; install it, or give its path`);
}
