import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_RULE, RULE_METRICS, sameRule, VALIDATION_METRICS, type Rule, type RuleMetric } from '../outcome';
import { scoreRows, type CellSummary, type EpochRow, type RunRow } from '../report';
import type { Filter } from '../filter';
import { readEpochs, readRuns, readSweep, selectRunIds, type Db, type SweepInfo } from '../store';
import { oneOf, positiveInt } from './common';

/** `--metric`, `--threshold`, `--epoch` of report, compare and query: re-score at read time, never writing. */
export interface ScoringOptions {
  metric?: string;
  threshold?: number;
  epoch?: number;
}

function threshold(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--threshold must be a positive number, got "${v}"`);
  return n;
}

export function addScoringOptions(cmd: Command): Command {
  return cmd
    .option('--metric <metric>', `re-score with this metric instead of the sweep's rule: ${RULE_METRICS.join(', ')} (nothing is written)`, oneOf('--metric', RULE_METRICS))
    .option('--threshold <t>', "re-score with this threshold instead of the sweep's rule (nothing is written)", threshold)
    .option('--epoch <e>', 'score every run as if it had stopped after epoch e (at most the runs\' epochs)', positiveInt('--epoch'));
}

/** The rule to score with: the flags over the sweep's own rule. */
export function ruleOf(sweep: Pick<SweepInfo, 'metric' | 'threshold'> | undefined, o: ScoringOptions): Rule {
  return { metric: o.metric ?? sweep?.metric ?? DEFAULT_RULE.metric, threshold: o.threshold ?? sweep?.threshold ?? DEFAULT_RULE.threshold };
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
  const r = rule ?? ruleOf(sweep, o);
  const stored = readRuns(db);
  const own = o.epoch === undefined && sameRule(r, sweep);
  const epochs = own && !withEpochs ? [] : readEpochs(db);
  const runs = own ? stored : scoreRows(stored, epochs, r, o.epoch);
  if (where.length === 0) return { sweep, rule: r, runs, stored, epochs };
  // The filter runs in SQL, with outcome and converged_epoch meaning the scores just computed.
  const ids = selectRunIds(db, { where, scored: new Map(runs.map((x) => [x.id, { outcome: x.outcome, convergedEpoch: x.convergedEpoch }])) });
  return { sweep, rule: r, runs: runs.filter((x) => ids.has(x.id)), stored: stored.filter((x) => ids.has(x.id)), epochs: epochs.filter((e) => ids.has(e.runId)) };
}

/** What a report must say besides its table: runs left out of n, and why. */
export function reportNotes(cells: readonly CellSummary[]): string[] {
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
