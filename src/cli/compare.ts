import type { Command } from 'commander';
import { ConvergeError } from '../errors';
import { filterNames } from '../filter';
import { compareGroups, differingSettings, formatComparison, formatParamValue, type Comparison, type RunRow } from '../report';
import { formatRule, type Rule } from '../outcome';
import { PARAM_NAMES } from '../spec';
import { withReadOnlyDb } from '../store';
import { writeOut } from './common';
import { checkFlags, joinFlags, noteEmpty, parseFlag, type FlagFilter } from './filters';
import { addScoringOptions, readScored, type ScoringOptions } from './scoring';


interface CompareOptions extends ScoringOptions { a?: string; b?: string; where?: string; json?: boolean; alive?: boolean }

interface Compared { result: Comparison; extra: string[]; json?: Record<string, unknown> }

/** Filter names that pick runs by what they are (seed, settings) rather than by how they ended. */
const DESIGN_NAMES = new Set<string>(['id', 'run_key', 'seed', 'repeat', ...PARAM_NAMES]);

/**
 * compareGroups, with the reason named when a filter on results (outcome, status, a final
 * metric…) broke the pairing: such a filter keeps a seed on one side and drops it on the other,
 * and the generic hint (restrict the seeds) would not help.
 */
function compareFiltered(flags: readonly (FlagFilter | null)[], ...args: Parameters<typeof compareGroups>): Comparison {
  try {
    return compareGroups(...args);
  } catch (e) {
    const byResult = flags.filter((f): f is FlagFilter => f !== null && filterNames(f.filter).some((n) => !DESIGN_NAMES.has(n)));
    if (!(e instanceof ConvergeError) || e.code !== 'compare.ambiguous' || byResult.length === 0) throw e;
    const names = [...new Set(byResult.flatMap((f) => filterNames(f.filter).filter((n) => !DESIGN_NAMES.has(n))))];
    throw new ConvergeError(
      'compare.ambiguous',
      `${byResult.map((f) => `${f.flag} "${f.expr}"`).join(' and ')} selects runs by how they ended (${names.join(', ')}), which keeps a seed on one side and drops its partner on the other; ` +
        `compare pairs runs by seed and compares their outcomes itself: filter on settings and seeds only (e.g. --where "seed<=5"), and use --alive for the rates among runs alive at initialisation (${e.message})`,
      { exitCode: 2 },
    );
  }
}

/** What the outcomes were scored by, for --json: the rule, the epoch budget, and whether rates are among runs alive at init. */
function scoringJson(rule: Rule, opts: CompareOptions): Record<string, unknown> {
  return { metric: rule.metric, threshold: rule.threshold, epoch: opts.epoch ?? null, alive: Boolean(opts.alive) };
}

function compareInOneDb(file: string, opts: CompareOptions): Compared {
  if (!opts.a || !opts.b) throw new ConvergeError('cli.missingGroup', "compare needs --a and --b (e.g. --a 'n_samples=80' --b 'n_samples=130'), or two databases");
  const where = parseFlag('--where', opts.where);
  const fa = parseFlag('--a', opts.a)!;
  const fb = parseFlag('--b', opts.b)!;
  const [ra, rb, rule] = withReadOnlyDb(file, (db) => {
    checkFlags(db, [where, fa, fb]);
    // Every run scored by the outcome module under the sweep's rule (or --metric/--threshold/--epoch).
    const sa = readScored(db, file, opts, undefined, joinFlags(where, fa));
    const runsA = sa.runs;
    const runsB = readScored(db, file, opts, sa.rule, joinFlags(where, fb)).runs;
    noteEmpty(db, `--a "${fa.expr}"${where ? ` with --where "${where.expr}"` : ''}`, runsA.length);
    noteEmpty(db, `--b "${fb.expr}"${where ? ` with --where "${where.expr}"` : ''}`, runsB.length);
    return [runsA, runsB, sa.rule] as const;
  });
  // The names in --a and --b define the groups, and so does a setting that has one value in A and
  // another in B (kernel_gain goes with kernel_initializer in answer-cases); runs are matched on
  // the seed and everything else.
  const named = [...new Set([...filterNames(fa.filter), ...filterNames(fb.filter)])];
  const along = differingSettings(ra, rb).filter((d) => !named.includes(d.name) && d.a.length === 1 && d.b.length === 1);
  const extra = along.map((d) => `A and B also differ in ${d.name}: ${formatParamValue(d.a[0]!)} (A) vs ${formatParamValue(d.b[0]!)} (B)`);
  const result = compareFiltered([where, fa, fb], { label: fa.expr, runs: ra }, { label: fb.expr, runs: rb }, [...named, ...along.map((d) => d.name)], { alive: opts.alive });
  return { result, extra, json: scoringJson(rule, opts) };
}

function compareTwoDbs(fileA: string, fileB: string, opts: CompareOptions): Compared {
  if (opts.a || opts.b) throw new ConvergeError('cli.conflict', 'compare with two databases takes no --a/--b; use --where to restrict both');
  const where = parseFlag('--where', opts.where);
  // One rule for both sides (the first database's, or the flags'): a comparison never mixes rules.
  let rule: Rule | undefined;
  const read = (file: string): { runs: RunRow[]; own: string } =>
    withReadOnlyDb(file, (db) => {
      checkFlags(db, [where]);
      const s = readScored(db, file, opts, rule, joinFlags(where));
      rule ??= s.rule;
      if (where) noteEmpty(db, `--where "${where.expr}" in ${file}`, s.runs.length);
      return { runs: s.runs, own: formatRule({ metric: s.sweep.metric as Rule['metric'], threshold: s.sweep.threshold }) };
    });
  const a = read(fileA);
  const b = read(fileB);
  const diffs = differingSettings(a.runs, b.runs);
  const show = (vs: readonly unknown[]): string => vs.map((v) => formatParamValue(v as never)).join(', ') || '–';
  const extra = diffs.map((d) => `setting ${d.name}: ${show(d.a)} (A) vs ${show(d.b)} (B)`);
  if (a.own !== b.own) extra.push(`the sweeps' own rules differ: ${a.own} (A) vs ${b.own} (B); both sides are scored by ${formatRule(rule!)}`);
  if (diffs.length === 0) extra.push('no setting differs between the two databases');
  const result = compareFiltered([where], { label: fileA, runs: a.runs }, { label: fileB, runs: b.runs }, diffs.map((d) => d.name), { alive: opts.alive });
  return { result, extra, json: { ...scoringJson(rule!, opts), settings_differ: diffs, rule_a: a.own, rule_b: b.own } };
}

export function registerCompare(program: Command): void {
  addScoringOptions(program
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
    .option('--alive', 'rates among runs alive at initialisation (paired: pairs whose two runs were both alive)'))
    .addHelpText(
      'after',
      `
Pairing: a run of A is matched with the run of B that has the same seed and the same value of
every setting not named in --a/--b (with two databases: every setting that does not differ
between them). So --a batch_size=1 --b batch_size=32 pairs cell by cell, and a seed never counts
twice on one side. Outcomes are scored by <db>'s rule (both databases) unless --metric,
--threshold or --epoch say otherwise; failed and timed-out runs are not counted. If only some runs have a partner, or a side holds two runs with one seed and
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
      const scoredBy = `scored by ${json ? `${String(json.metric)} < ${String(json.threshold)}` : 'the rule'}${opts.epoch ? ` at epoch ${opts.epoch}` : ''}${opts.alive ? ', among runs alive at init' : ''}`;
      writeOut([...extra, scoredBy].join('\n') + '\n' + formatComparison(result, false));
    });
}
