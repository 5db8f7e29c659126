import { InvalidArgumentError, type Command } from 'commander';
import { ConvergeError, didYouMean } from '../errors';
import { filterNames } from '../filter';
import { compareAcross, defaultThresholds, differingSettings, formatAcross, formatParamValue, cellKey, type AcrossOptions, type RunRow, type StoredGroup, type StratifiedComparison } from '../report';
import { formatRule, type Rule } from '../outcome';
import { PARAM_NAMES } from '../spec';
import { selectRunIds, withReadOnlyDb, type Db } from '../store';
import { collect, writeOut } from './common';
import { andWhere, checkFlags, joinFlags, noteEmpty, parseFlag, type FlagFilter } from './filters';
import { addScoringOptions, codeVersions, readScored, type Scored, type ScoringOptions } from './scoring';


interface CompareOptions extends ScoringOptions { a?: string; b?: string; where?: string; json?: boolean; alive?: boolean; by: string[]; thresholds?: number[] }

interface Compared { result: StratifiedComparison; extra: string[]; json: Record<string, unknown> }

/** Filter names that pick runs by what they are (seed, settings) rather than by how they ended. */
const DESIGN_NAMES = new Set<string>(['id', 'run_key', 'seed', 'repeat', ...PARAM_NAMES]);

/** `--thresholds 0.03,0.05,0.1`: positive numbers, sorted, each once. */
export function thresholdList(v: string): number[] {
  const parts = v.split(',').map((x) => x.trim());
  const values = parts.map(Number);
  const bad = parts.find((x, i) => x === '' || !Number.isFinite(values[i]!) || values[i]! <= 0);
  if (bad !== undefined) throw new InvalidArgumentError(`--thresholds takes positive numbers separated by commas (e.g. 0.03,0.05,0.1), got "${bad}" in "${v}"`);
  return [...new Set(values)].sort((x, y) => x - y);
}

/** The --by settings, each a parameter name (exit 2 with a "did you mean" otherwise). */
export function checkBy(by: readonly string[], flag = '--by', names: readonly string[] = PARAM_NAMES): string[] {
  for (const n of by) {
    if (!names.includes(n)) {
      const hint = didYouMean(n, names);
      throw new ConvergeError('compare.badBy', `${flag} ${n}: not a setting${hint ? ` (did you mean ${hint}?)` : ''}; settings: ${names.join(', ')}`, { exitCode: 2 });
    }
  }
  return [...new Set(by)];
}

/**
 * Run a comparison, with the reason named when a filter on results (outcome, status, a final
 * metric…) broke the pairing: such a filter keeps a seed on one side and drops it on the other,
 * and the generic hint (restrict the seeds) would not help.
 */
function explainPairing<T>(flags: readonly (FlagFilter | null)[], compare: () => T): T {
  try {
    return compare();
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

/** What the outcomes were scored by, for --json: the rule, the epoch budget, whether rates are among runs alive at init, and the thresholds of the sensitivity line. */
function scoringJson(rule: Rule, opts: Pick<CompareOptions, 'epoch' | 'alive'>, thresholds: readonly number[]): Record<string, unknown> {
  return {
    metric: rule.metric, threshold: rule.threshold,
    // A user trainer's rule: its direction and epoch (absent for the built-in rule, as before).
    ...(rule.direction ? { direction: rule.direction } : {}), ...(rule.at ? { at: rule.at } : {}),
    epoch: opts.epoch ?? null, alive: Boolean(opts.alive), thresholds: [...thresholds],
  };
}

/** The rule as compare prints it: `loss < 0.05`, `accuracy > 0.9 at the best epoch`. */
function ruleText(rule: Rule): string {
  if (!rule.direction && !rule.at) return formatRule(rule);
  return `${rule.metric} ${rule.direction === 'above' ? '>' : '<'} ${rule.threshold}${rule.at === 'best' ? ' at the best epoch' : ''}`;
}

/** The settings --by may name: the built-in parameters, or a user sweep's declared parameters. */
export function settingNames(s: Scored): readonly string[] {
  if (s.sweep.trainer === 'builtin') return PARAM_NAMES;
  return [...new Set(s.stored.flatMap((r) => Object.keys(r.params)))].sort();
}

/** A user sweep: --alive has no meaning (no alive-at-init). */
function refuseAlive(s: Scored, opts: Pick<CompareOptions, 'alive'>): void {
  if (opts.alive && s.sweep.trainer !== 'builtin') {
    throw new ConvergeError('cli.conflict', `--alive: a ${s.sweep.trainer} trainer's runs have no alive-at-init; its rates are among all finished runs`);
  }
}

/** One line per cell of these runs that was trained by more than one version of the code (user sweeps). */
export function mixedCodeLines(axes: readonly string[], runs: readonly RunRow[]): string[] {
  const byCell = new Map<string, Map<string, number>>();
  for (const r of runs) {
    if (!r.codeHash) continue;
    const key = cellKey(axes, r.params) || 'all runs';
    let m = byCell.get(key);
    if (!m) byCell.set(key, (m = new Map()));
    m.set(r.codeHash, (m.get(r.codeHash) ?? 0) + 1);
  }
  const out: string[] = [];
  for (const [key, m] of byCell) {
    if (m.size < 2) continue;
    const hashes = [...m].map(([hash, n]) => ({ hash, runs: n })).sort((a, b) => b.runs - a.runs || (a.hash < b.hash ? -1 : 1));
    out.push(`cell ${key}: runs trained by ${m.size} versions of the code (${codeVersions(hashes)})`);
  }
  return out;
}

/** The runs of `s` that `ids` selects, as stored, with their epochs: a group to score at any threshold. */
function storedGroup(label: string, s: Scored, ids: ReadonlySet<number>): StoredGroup {
  return { label, runs: s.stored.filter((r) => ids.has(r.id)), epochs: s.epochs.filter((e) => ids.has(e.runId)) };
}

/** One comparison within one database: groups A and B, each restricted by every `where`. */
export interface ComparisonRequest { a: FlagFilter; b: FlagFilter; where: readonly FlagFilter[]; by: readonly string[] }

/**
 * Compare two groups of one database's runs, already read and scored in `s` (with their epochs):
 * at the rule, within each --by level, and across `thresholds`. `extra` names the settings that
 * move with the named ones.
 */
export function compareInDb(db: Db, s: Scored, req: ComparisonRequest, opts: Pick<AcrossOptions, 'alive' | 'epoch' | 'thresholds'>): { result: StratifiedComparison; extra: string[] } {
  // Groups are selected by the scores under the rule (outcome in a filter means that score).
  const scored = new Map(s.runs.map((x) => [x.id, { outcome: x.outcome, convergedEpoch: x.convergedEpoch }]));
  const ids = (f: FlagFilter) => selectRunIds(db, { where: joinFlags(...req.where, f), scored });
  const a = storedGroup(req.a.expr, s, ids(req.a));
  const b = storedGroup(req.b.expr, s, ids(req.b));
  const within = req.where.length > 0 ? ` with ${req.where.map((w) => `${w.flag} "${w.expr}"`).join(' and ')}` : '';
  noteEmpty(db, `${req.a.flag} "${req.a.expr}"${within}`, a.runs.length);
  noteEmpty(db, `${req.b.flag} "${req.b.expr}"${within}`, b.runs.length);
  // The names in --a and --b define the groups, and so does a setting that has one value in A and
  // another in B (kernel_gain goes with kernel_initializer in answer-cases); runs are matched on
  // the seed and everything else.
  const named = [...new Set([...filterNames(req.a.filter), ...filterNames(req.b.filter)])];
  const along = differingSettings(a.runs, b.runs).filter((d) => !named.includes(d.name) && d.a.length === 1 && d.b.length === 1);
  const extra = along.map((d) => `A and B also differ in ${d.name}: ${formatParamValue(d.a[0]!)} (A) vs ${formatParamValue(d.b[0]!)} (B)`);
  const result = explainPairing([...req.where, req.a, req.b], () =>
    compareAcross(a, b, [...named, ...along.map((d) => d.name)], { ...opts, rule: s.rule, by: req.by }),
  );
  return { result, extra };
}

function compareInOneDb(file: string, opts: CompareOptions): Compared {
  if (!opts.a || !opts.b) throw new ConvergeError('cli.missingGroup', "compare needs --a and --b (e.g. --a 'n_samples=80' --b 'n_samples=130'), or two databases");
  const where = parseFlag('--where', opts.where);
  const fa = parseFlag('--a', opts.a)!;
  const fb = parseFlag('--b', opts.b)!;
  return withReadOnlyDb(file, (db) => {
    checkFlags(db, [where, fa, fb]);
    // Every run scored by the outcome module under the sweep's rule (or --metric/--threshold/--epoch),
    // with its epochs to score it again at the other thresholds.
    const s = readScored(db, file, opts, undefined, joinFlags(where), true);
    refuseAlive(s, opts);
    const by = checkBy(opts.by, '--by', settingNames(s));
    const thresholds = opts.thresholds ?? defaultThresholds(s.rule.threshold);
    const { result, extra } = compareInDb(db, s, { a: fa, b: fb, where: where ? [where] : [], by }, { alive: opts.alive, epoch: opts.epoch, thresholds });
    const mixed = mixedCodeLines(s.sweep.axes, s.runs);
    return { result, extra: [...extra, ...mixed], json: { ...scoringJson(s.rule, opts, thresholds), ...(mixed.length > 0 ? { mixed_code: mixed } : {}) } };
  });
}

function compareTwoDbs(fileA: string, fileB: string, opts: CompareOptions): Compared {
  if (opts.a || opts.b) throw new ConvergeError('cli.conflict', 'compare with two databases takes no --a/--b; use --where to restrict both');
  const where = parseFlag('--where', opts.where);
  // One rule for both sides (the first database's, or the flags'): a comparison never mixes rules.
  let rule: Rule | undefined;
  const read = (file: string): { runs: RunRow[]; group: StoredGroup; own: string } =>
    withReadOnlyDb(file, (db) => {
      checkFlags(db, [where]);
      const s = readScored(db, file, opts, rule, joinFlags(where), true);
      refuseAlive(s, opts);
      rule ??= s.rule;
      if (where) noteEmpty(db, `--where "${where.expr}" in ${file}`, s.runs.length);
      return { runs: s.runs, group: { label: file, runs: s.stored, epochs: s.epochs }, own: formatRule({ metric: s.sweep.metric as Rule['metric'], threshold: s.sweep.threshold }) };
    });
  const a = read(fileA);
  const b = read(fileB);
  const diffs = differingSettings(a.runs, b.runs);
  const show = (vs: readonly unknown[]): string => vs.map((v) => formatParamValue(v as never)).join(', ') || '–';
  const extra = diffs.map((d) => `setting ${d.name}: ${show(d.a)} (A) vs ${show(d.b)} (B)`);
  if (a.own !== b.own) extra.push(`the sweeps' own rules differ: ${a.own} (A) vs ${b.own} (B); both sides are scored by ${formatRule(rule!)}`);
  if (diffs.length === 0) extra.push('no setting differs between the two databases');
  const thresholds = opts.thresholds ?? defaultThresholds(rule!.threshold);
  const result = explainPairing([where], () =>
    compareAcross(a.group, b.group, diffs.map((d) => d.name), { alive: opts.alive, epoch: opts.epoch, thresholds, rule: rule!, by: checkBy(opts.by) }),
  );
  return { result, extra, json: { ...scoringJson(rule!, opts, thresholds), settings_differ: diffs, rule_a: a.own, rule_b: b.own } };
}

export function registerCompare(program: Command): void {
  addScoringOptions(program
    .command('compare')
    .description(
      "is one group's convergence rate really different from another's? Runs with the same seed and settings are paired " +
        "(exact McNemar test, Newcombe's paired interval; the seed is the unit when cells are pooled); groups with no seed in common use Fisher's exact test. " +
        'With --by, also within each value of a setting, and whether the effect differs between them; always, whether the verdict holds across thresholds',
    )
    .argument('<db>', 'result database (.db)')
    .argument('[db2]', "a second sweep's database: compare all runs of <db> with all runs of [db2]")
    .option('--a <expr>', "group A, e.g. 'n_samples=80'")
    .option('--b <expr>', "group B, e.g. 'n_samples=130'")
    .option('--where <expr>', "restrict both groups, e.g. 'seq_len=200 and batch_size=1' (repeatable: joined by and)", andWhere)
    .option('--by <setting>', 'compare within each value of this setting too, side by side, and test whether the effect differs between them (repeatable)', collect, [])
    .option('--thresholds <list>', "the thresholds of the sensitivity table, e.g. 0.03,0.05,0.1 (default: 0.6, 1, 1.4, 2 and 3 times the rule's)", thresholdList)
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

The seed as the unit: when the groups pool several cells (e.g. --a batch_size=32 --b batch_size=1
over two values of n_samples), one seed gives several pairs, which are not independent. Then the
p-value is an exact sign-flip test on each seed's net discordance (with one pair per seed it is
the exact McNemar test), and the interval is widened by the seeds' design effect. Whether the
pooled cells agree is tested too (the split of the discordant pairs across them); when they do
not, compare says so.

--by SETTING: the comparison within each value of SETTING, side by side, and a test that the
effect is the same in every one (exact conditional test on the 2 × K table of discordant pairs;
chi-square when the tables are too many to enumerate). A level with no discordant pair says
nothing about the effect and is left out of that test.

Thresholds: every comparison is repeated with the runs re-scored from their stored epochs at
thresholds around the rule's (nothing is retrained or written), and compare says whether the
verdict holds at all of them or depends on the threshold.

Examples:
  converge compare results/seed-finding.db --a n_samples=80 --b n_samples=130 --where "batch_size=1"
  converge compare results/answer-cases.db --a batch_size=32 --b batch_size=1 --where "seq_len=200 and kernel_initializer=orthogonal" --by n_samples
  converge compare results/a.db results/b.db --json`,
    )
    .action((file: string, file2: string | undefined, opts: CompareOptions) => {
      const { result, extra, json } = file2 ? compareTwoDbs(file, file2, opts) : compareInOneDb(file, opts);
      if (opts.json) {
        writeOut(JSON.stringify({ ...result, ...json }, null, 2));
        return;
      }
      const rule: Rule = { metric: json.metric as Rule['metric'], threshold: json.threshold as number, ...(json.direction ? { direction: json.direction as 'below' | 'above' } : {}), ...(json.at ? { at: json.at as 'last' | 'best' } : {}) };
      const scoredBy = `scored by ${ruleText(rule)}${opts.epoch ? ` at epoch ${opts.epoch}` : ''}${opts.alive ? ', among runs alive at init' : ''}`;
      writeOut([...extra, scoredBy].join('\n') + '\n' + formatAcross(result, rule.metric, rule.threshold));
    });
}
