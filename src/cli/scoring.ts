import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_RULE, RULE_METRICS, VALIDATION_METRICS, type Rule, type RuleMetric } from '../outcome';
import { ConvergeError, didYouMean, EXIT } from '../errors';
import type { MetricDirection, RuleEpoch } from '../trainer/types';
import { scoreRows, type CellSummary, type EpochRow, type RunRow } from '../report';
import type { Filter } from '../filter';
import { readEpochs, readRuns, readSweep, reportedMetrics, sameStoredRule, selectRunIds, type Db, type SweepInfo } from '../store';
import { oneOf, positiveInt } from './common';

/** `--metric`, `--threshold`, `--epoch` of report, compare and query: re-score at read time, never writing. */
export interface ScoringOptions {
  metric?: string;
  threshold?: number;
  epoch?: number;
  /** A user trainer's metric that is better higher (accuracy): converged above the threshold. */
  direction?: MetricDirection;
  at?: RuleEpoch;
}

/** A metric name as a trainer reports it; which names a database knows is checked against it (ruleOf). */
function metricName(v: string): string {
  if (!/^[A-Za-z_][\w.\-/]*$/.test(v)) throw new InvalidArgumentError(`--metric must be a metric name, got "${v}"`);
  return v;
}

function threshold(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--threshold must be a positive number, got "${v}"`);
  return n;
}

export function addScoringOptions(cmd: Command): Command {
  return cmd
    .option('--metric <metric>', `re-score with this metric instead of the sweep's rule: ${RULE_METRICS.join(', ')}, or any metric a user trainer reported (nothing is written)`, metricName)
    .option('--threshold <t>', "re-score with this threshold instead of the sweep's rule (nothing is written)", threshold)
    .option('--direction <d>', "a user trainer's metric: converged below (the default) or above the threshold", oneOf('--direction', ['below', 'above'] as const))
    .option('--at <epoch>', "a user trainer's rule: score the last epoch (the default) or the best one", oneOf('--at', ['last', 'best'] as const))
    .option('--epoch <e>', 'score every run as if it had stopped after epoch e (at most the runs\' epochs)', positiveInt('--epoch'));
}

/**
 * The rule to score with: the flags over the sweep's own rule. A built-in sweep's metric is one of
 * RULE_METRICS, scored below the threshold at the last epoch, as before; a user sweep's metric is
 * one its runs reported (`reported`), with the sweep's direction and epoch unless the flags say otherwise.
 */
export function ruleOf(sweep: Pick<SweepInfo, 'metric' | 'threshold' | 'direction' | 'at' | 'trainer'> | undefined, o: ScoringOptions, reported?: readonly string[]): Rule {
  const user = sweep !== undefined && sweep.trainer !== undefined && sweep.trainer !== 'builtin';
  if (!user) {
    if (o.metric !== undefined && !(RULE_METRICS as readonly string[]).includes(o.metric)) {
      throw new ConvergeError('cli.badMetric', `--metric must be one of ${RULE_METRICS.join(', ')}, got "${o.metric}"`, { exitCode: EXIT.badInput });
    }
    if (o.direction !== undefined || o.at !== undefined) throw new ConvergeError('cli.conflict', `--direction and --at are for a user trainer's sweep; the built-in rule is below the threshold at the last epoch`, { exitCode: EXIT.badInput });
    return { metric: o.metric ?? sweep?.metric ?? DEFAULT_RULE.metric, threshold: o.threshold ?? sweep?.threshold ?? DEFAULT_RULE.threshold };
  }
  if (o.metric !== undefined && reported && !reported.includes(o.metric)) {
    const hint = didYouMean(o.metric, reported);
    throw new ConvergeError('cli.badMetric', `--metric ${o.metric}: no run reported it${hint ? ` (did you mean ${hint}?)` : ''}; the runs report ${reported.join(', ') || 'no metric yet'}`, { exitCode: EXIT.badInput });
  }
  const metric = o.metric ?? sweep.metric;
  // Another metric than the rule's has no known direction: below unless --direction says so.
  const direction = o.direction ?? (metric === sweep.metric ? sweep.direction : undefined);
  const at = o.at ?? sweep.at;
  return { metric, threshold: o.threshold ?? sweep.threshold, ...(direction ? { direction } : {}), ...(at ? { at } : {}) };
}

export interface Scored {
  sweep: SweepInfo;
  rule: Rule;
  /** The runs scored under `rule` at the budget. */
  runs: RunRow[];
  /** The same runs as stored, to score again at other budgets (budget curves). */
  stored: RunRow[];
  epochs: EpochRow[];
}

/**
 * The runs of a database scored by the outcome module under `rule` (default: the sweep's own) at
 * the --epoch budget, restricted to `where` (compiled to SQL; outcome and converged_epoch in it
 * mean these scores). Under the sweep's own rule at each run's last epoch, runs.outcome already
 * holds exactly that score (the runner writes it, a rule change re-scores it in the same
 * transaction), so the epochs are read only when `withEpochs` asks for them; otherwise every run
 * is re-scored from its stored epochs.
 */
export function readScored(db: Db, file: string, o: ScoringOptions, rule?: Rule, where: Filter = [], withEpochs = false): Scored {
  const sweep = readSweep(db, file);
  const r = rule ?? ruleOf(sweep, o, sweep.trainer === 'builtin' ? undefined : reportedMetrics(db));
  const stored = readRuns(db);
  const own = o.epoch === undefined && sameStoredRule(r, sweep);
  const epochs = own && !withEpochs ? [] : readEpochs(db);
  const runs = own ? stored : scoreRows(stored, epochs, r, o.epoch);
  if (where.length === 0) return { sweep, rule: r, runs, stored, epochs };
  // The filter runs in SQL, with outcome and converged_epoch meaning the scores just computed.
  const ids = selectRunIds(db, { where, scored: new Map(runs.map((x) => [x.id, { outcome: x.outcome, convergedEpoch: x.convergedEpoch }])) });
  return { sweep, rule: r, runs: runs.filter((x) => ids.has(x.id)), stored: stored.filter((x) => ids.has(x.id)), epochs: epochs.filter((e) => ids.has(e.runId)) };
}

/** What a report must say besides its table: runs left out of n, and why. */
export function reportNotes(cells: readonly CellSummary[]): string[] {
  if (cells[0]?.userTrainer) return userReportNotes(cells);
  const out: string[] = [];
  const lacking = cells.reduce((s, c) => s + c.lacksMetric, 0);
  if (lacking > 0) {
    const metric = cells[0]!.metric;
    out.push(`${lacking} finished run${lacking === 1 ? '' : 's'} lack ${metric} (recorded before population metrics, unseen_mae with every row drawn, or a validation metric with test_fraction 0): not in n; score them with --metric ${VALIDATION_METRICS.has(metric as RuleMetric) ? 'pop_mae' : 'val_mae'}`);
  }
  for (const c of cells) {
    if (c.failedRuns.length === 0) continue;
    const f = c.outcomes.failed;
    const t = c.outcomes.timed_out;
    out.push(`${c.key || 'all runs'}: ${[f ? `${f} failed` : '', t ? `${t} timed out` : ''].filter(Boolean).join(', ')} (not in n): run ${c.failedRuns.join(', ')}; see \`converge query <db> --where "status=failed"\``);
  }
  return out;
}

/**
 * A user sweep's notes, one line per cell: runs that never reported the rule's metric (listed
 * like failed runs, not in n), failed and timed-out runs, and a cell trained by more than one
 * version of the code (its runs' code hashes differ).
 */
function userReportNotes(cells: readonly CellSummary[]): string[] {
  const out: string[] = [];
  for (const c of cells) {
    const cell = c.key || 'all runs';
    const hashes = c.codeHashes ?? [];
    if (hashes.length > 1) out.push(`${cell}: runs trained by ${hashes.length} versions of the code (${codeVersions(hashes)}); compare them with \`converge query <db> --sql "select code_hash, outcome, count(*) from runs group by 1, 2"\``);
    const nm = c.noMetricRuns ?? [];
    if (nm.length > 0) out.push(`${cell}: ${nm.length} never reported ${c.metric} (no_metric, not in n): run ${nm.join(', ')}`);
    if (c.failedRuns.length > 0) {
      const f = c.outcomes.failed;
      const t = c.outcomes.timed_out;
      out.push(`${cell}: ${[f ? `${f} failed` : '', t ? `${t} timed out` : ''].filter(Boolean).join(', ')} (not in n): run ${c.failedRuns.join(', ')}; see \`converge query <db> --where "status=failed"\``);
    }
  }
  return out;
}

/** "abc123: 10 runs, def456: 4 runs". */
export function codeVersions(hashes: readonly { hash: string; runs: number }[]): string {
  return hashes.map((h) => `${h.hash}: ${h.runs} run${h.runs === 1 ? '' : 's'}`).join(', ');
}
