import { ConvergeError, didYouMean } from '../errors';
import type { ParamValue } from '../spec';

/**
 * A command trainer's argv: a list of strings run without a shell (so no quoting, globbing or
 * injection through parameter values), where `{name}` stands for a declared parameter's value or
 * one of the run's own values below. Only `{identifier}` is a placeholder: other braces (a JSON
 * argument such as `{"a": 1}`) stay as written, and `{{` / `}}` write a literal brace, so
 * `{{seed}}` is the text `{seed}`.
 */

/** Placeholders every command may use besides its declared parameters. */
export const RUN_PLACEHOLDERS = ['seed', 'run_id', 'run_dir'] as const;

/** The run's own values behind RUN_PLACEHOLDERS. */
export interface RunValues {
  seed: number;
  runId: string;
  /** The run's folder (params file, metrics file, log; the trainer may write its own files there). */
  runDir: string;
}

const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The placeholder names one argument uses, in order (escaped braces excluded). */
export function placeholdersOf(arg: string): string[] {
  const names: string[] = [];
  for (const m of arg.matchAll(TOKEN)) if (m[1] !== undefined) names.push(m[1]);
  return names;
}

/**
 * Refuse an argv whose placeholders name anything but a declared parameter or a run value, at
 * load time, before anything is written. `where(i)` says where argument i came from
 * (`sweep.yaml:7: trainer.command[3]`).
 */
export function checkArgv(argv: readonly string[], declared: readonly string[], where: (index: number) => string = (i) => `trainer.command[${i}]`): void {
  if (argv.length === 0) throw new ConvergeError('spec.invalid', `${where(0).replace(/\[0\]$/, '')}: expected a program and its arguments, got an empty list`);
  const known = [...declared, ...RUN_PLACEHOLDERS];
  argv.forEach((arg, i) => {
    for (const name of placeholdersOf(arg)) {
      if (known.includes(name)) continue;
      const guess = didYouMean(name, known);
      const list = declared.length ? `declared: ${[...declared].sort().join(', ')}` : 'no parameters are declared';
      throw new ConvergeError(
        'spec.unknownPlaceholder',
        `${where(i)}: "{${name}}" names no declared parameter${guess ? ` (did you mean "{${guess}}"?)` : ''}; ${list}; always available: ${RUN_PLACEHOLDERS.join(', ')}`,
      );
    }
  });
}

/**
 * A typed value as its command-line text: integers without a decimal point (`3`, never `3.0`),
 * other numbers in JavaScript's shortest round-trip form (`0.001`, `1e-7`: both read back exactly
 * by Python's `float()` and C's `strtod`), booleans as `true` / `false`, strings unchanged.
 */
export function renderValue(value: ParamValue): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConvergeError('spec.invalid', `a parameter value must be a finite number on a command line, got ${value}`);
    // String(1e21) is "1e+21": written out in full so an integer parser accepts it.
    return Number.isInteger(value) && Math.abs(value) >= 1e21 ? BigInt(value).toString() : String(value);
  }
  return typeof value === 'boolean' ? (value ? 'true' : 'false') : value;
}

/** The argv with every placeholder replaced by its value. Run checkArgv first: an unknown name here is a bug. */
export function expandArgv(argv: readonly string[], params: Readonly<Record<string, ParamValue>>, run: RunValues): string[] {
  const own: Record<(typeof RUN_PLACEHOLDERS)[number], ParamValue> = { seed: run.seed, run_id: run.runId, run_dir: run.runDir };
  return argv.map((arg) =>
    arg.replace(TOKEN, (token, name: string | undefined) => {
      if (name === undefined) return token[0]!;
      const value = Object.hasOwn(own, name) ? own[name as keyof typeof own] : params[name];
      if (value === undefined) throw new ConvergeError('spec.unknownPlaceholder', `"{${name}}" has no value for this run; declared: ${Object.keys(params).sort().join(', ')}`);
      return renderValue(value);
    }),
  );
}

/** An argv as one line a person can paste into a POSIX shell (for messages and the run's record). */
export function formatCommandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
