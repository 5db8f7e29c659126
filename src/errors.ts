/**
 * One base error for everything `converge` refuses or fails at. Library code throws these;
 * only `cli/main.ts` prints them (one line, no stack unless --verbose) and exits with `exitCode`.
 * Codes are namespaced (`spec.unknownKey`, `store.schemaTooNew`) and stable: scripts may match them.
 */
export class ConvergeError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConvergeError';
    this.code = code;
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Exit codes: 0 ok, 1 some runs failed, 2 bad input, 3 store problem, 4 time limit reached with runs left, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM). */
export const EXIT = {
  ok: 0,
  runsFailed: 1,
  badInput: 2,
  store: 3,
  /** `run --stop-at` / `--max-time` came with runs not started: the same command without it resumes. */
  timeLimit: 4,
  interrupted: 130,
  /** SIGTERM (what Slurm, Kubernetes and systemd send): stopped like the first Ctrl-C, 128 + 15. */
  terminated: 143,
} as const;

export function isConvergeError(e: unknown): e is ConvergeError {
  return e instanceof ConvergeError;
}

/** Edit distance, for "did you mean" suggestions. */
export function levenshtein(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance, or undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
