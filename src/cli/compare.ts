import type { Command } from 'commander';
import { ConvergeError } from '../errors';
import { filterNames } from '../filter';
import { compareGroups, differingSettings, formatComparison, formatParamValue, type Comparison, type RunRow } from '../report';
import { openDb, readRuns, readSweep, type Db } from '../store';
import { writeOut } from './common';
import { checkFlags, joinFlags, noteEmpty, parseFlag } from './filters';

function withDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

interface CompareOptions { a?: string; b?: string; where?: string; json?: boolean }

interface Compared { result: Comparison; extra: string[]; json?: Record<string, unknown> }

function compareInOneDb(file: string, opts: CompareOptions): Compared {
  if (!opts.a || !opts.b) throw new ConvergeError('cli.missingGroup', "compare needs --a and --b (e.g. --a 'n_samples=80' --b 'n_samples=130'), or two databases");
  const where = parseFlag('--where', opts.where);
  const fa = parseFlag('--a', opts.a)!;
  const fb = parseFlag('--b', opts.b)!;
  const [ra, rb] = withDb(file, (db) => {
    checkFlags(db, [where, fa, fb]);
    const runsA = readRuns(db, { where: joinFlags(where, fa) });
    const runsB = readRuns(db, { where: joinFlags(where, fb) });
    noteEmpty(db, `--a "${fa.expr}"${where ? ` with --where "${where.expr}"` : ''}`, runsA.length);
    noteEmpty(db, `--b "${fb.expr}"${where ? ` with --where "${where.expr}"` : ''}`, runsB.length);
    return [runsA, runsB];
  });
  // The names in --a and --b define the groups, and so does a setting that has one value in A and
  // another in B (kernel_gain goes with kernel_initializer in answer-cases); runs are matched on
  // the seed and everything else.
  const named = [...new Set([...filterNames(fa.filter), ...filterNames(fb.filter)])];
  const along = differingSettings(ra, rb).filter((d) => !named.includes(d.name) && d.a.length === 1 && d.b.length === 1);
  const extra = along.map((d) => `A and B also differ in ${d.name}: ${formatParamValue(d.a[0]!)} (A) vs ${formatParamValue(d.b[0]!)} (B)`);
  const result = compareGroups({ label: fa.expr, runs: ra }, { label: fb.expr, runs: rb }, [...named, ...along.map((d) => d.name)]);
  return { result, extra };
}

function compareTwoDbs(fileA: string, fileB: string, opts: CompareOptions): Compared {
  if (opts.a || opts.b) throw new ConvergeError('cli.conflict', 'compare with two databases takes no --a/--b; use --where to restrict both');
  const where = parseFlag('--where', opts.where);
  const read = (file: string): { runs: RunRow[]; rule: string } =>
    withDb(file, (db) => {
      checkFlags(db, [where]);
      const sweep = readSweep(db, file);
      const runs = readRuns(db, { where: joinFlags(where) });
      if (where) noteEmpty(db, `--where "${where.expr}" in ${file}`, runs.length);
      return { runs, rule: `${sweep.metric} < ${sweep.threshold}` };
    });
  const a = read(fileA);
  const b = read(fileB);
  const diffs = differingSettings(a.runs, b.runs);
  const show = (vs: readonly unknown[]): string => vs.map((v) => formatParamValue(v as never)).join(', ') || '–';
  const extra = diffs.map((d) => `setting ${d.name}: ${show(d.a)} (A) vs ${show(d.b)} (B)`);
  if (a.rule !== b.rule) extra.push(`rule: ${a.rule} (A) vs ${b.rule} (B)`);
  if (diffs.length === 0) extra.push('no setting differs between the two databases');
  const result = compareGroups({ label: fileA, runs: a.runs }, { label: fileB, runs: b.runs }, diffs.map((d) => d.name));
  return { result, extra, json: { settings_differ: diffs, rule_a: a.rule, rule_b: b.rule } };
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      "is one group's convergence rate really different from another's? Runs with the same seed and settings are paired " +
        "(exact McNemar test, Newcombe's paired interval); groups with no seed in common use Fisher's exact test",
    )
    .argument('<db>', 'result database (.db)')
    .argument('[db2]', "a second sweep's database: compare all runs of <db> with all runs of [db2]")
    .option('--a <expr>', "group A, e.g. 'n_samples=80'")
    .option('--b <expr>', "group B, e.g. 'n_samples=130'")
    .option('--where <expr>', "restrict both groups, e.g. 'seq_len=200 and batch_size=1'")
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
Pairing: a run of A is matched with the run of B that has the same seed and the same value of
every setting not named in --a/--b (with two databases: every setting that does not differ
between them). So --a batch_size=1 --b batch_size=32 pairs cell by cell, and a seed never counts
twice on one side. If only some runs have a partner, or a side holds two runs with one seed and
the same other settings, compare refuses and says how to narrow the groups.

Examples:
  converge compare results/seed-finding.db --a n_samples=80 --b n_samples=130 --where "batch_size=1"
  converge compare results/a.db results/b.db --json`,
    )
    .action((file: string, file2: string | undefined, opts: CompareOptions) => {
      const { result, extra, json } = file2 ? compareTwoDbs(file, file2, opts) : compareInOneDb(file, opts);
      if (opts.json) {
        writeOut(JSON.stringify({ ...result, ...json }, null, 2));
        return;
      }
      writeOut((extra.length > 0 ? extra.join('\n') + '\n' : '') + formatComparison(result, false));
    });
}
