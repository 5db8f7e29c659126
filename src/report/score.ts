/**
 * Read-time scoring: the runs of a report, compare or query re-scored from their stored epochs
 * under a rule and an epoch budget, by the outcome module (the one place outcomes are decided).
 * Nothing is written: the stored runs.outcome follows the sweep's own rule (src/store/rescore.ts).
 */
import { ConvergeError } from '../errors';
import { scoreStoredRun, scoreUserRun, thinValidationWarning, type OutputActivation, type Rule, type Score, type ScoredEpoch } from '../outcome';
import { cellKey } from './cells';
import type { EpochRow, RunRow } from './types';

/**
 * `--epoch E` scores every run as if it had stopped after epoch E, so E must not exceed any run's
 * planned epochs. Throws report.epochTooLarge (exit 2) naming the first run that is too short.
 */
export function checkBudget(runs: readonly RunRow[], budget: number | undefined): void {
  if (budget === undefined) return;
  const short = runs.find((r) => typeof r.params.epochs === 'number' && (r.params.epochs as number) < budget);
  if (short) {
    const max = Math.min(...runs.map((r) => Number(r.params.epochs)));
    throw new ConvergeError('report.epochTooLarge', `--epoch ${budget}: run ${short.id} trains only ${String(short.params.epochs)} epochs; choose an epoch from 1 to ${max}`);
  }
}

/** The run's output_activation (every stored run has one; a row built without it has the parameter's default, relu). */
function outputActivationOf(r: RunRow): OutputActivation {
  return r.params.output_activation === 'linear' ? 'linear' : 'relu';
}

/** Each run with outcome, converged_epoch, ruleValue and lacksMetric recomputed under `rule` at `budget`. */
export function scoreRows(runs: readonly RunRow[], epochs: readonly EpochRow[], rule: Rule, budget?: number): RunRow[] {
  checkBudget(runs, budget);
  return scoreGrouped(runs, epochsByRun(epochs), rule, budget);
}

/** Epochs grouped by run id, in the order given. */
export function epochsByRun(epochs: readonly EpochRow[]): Map<number, ScoredEpoch[]> {
  const byRun = new Map<number, ScoredEpoch[]>();
  for (const e of epochs) {
    let list = byRun.get(e.runId);
    if (!list) byRun.set(e.runId, (list = []));
    list.push(e);
  }
  return byRun;
}

/** scoreRows over epochs already grouped by run (a budget curve scores the same runs at many budgets). */
export function scoreGrouped(runs: readonly RunRow[], byRun: ReadonlyMap<number, readonly ScoredEpoch[]>, rule: Rule, budget?: number): RunRow[] {
  return runs.map((r) => {
    const s = r.trainer !== undefined && r.trainer !== 'builtin' ? scoreUser(r, byRun.get(r.id) ?? [], rule, budget) : scoreStoredRun({ ...r, outputActivation: outputActivationOf(r) }, byRun.get(r.id) ?? [], rule, budget);
    return { ...r, outcome: s.outcome, convergedEpoch: s.convergedEpoch, ruleValue: s.value, lacksMetric: s.lacksMetric };
  });
}

/** A user trainer's run as stored, scored under `rule` (its epochs carry `extra`). */
function scoreUser(r: RunRow, epochs: readonly ScoredEpoch[], rule: Rule, budget?: number): Score {
  if (r.status === 'pending' || r.status === 'running') return { outcome: null, convergedEpoch: null, epoch: null, value: null, lacksMetric: false };
  return scoreUserRun(epochs, rule, budget, r.status === 'failed' ? (r.outcome === 'timed_out' ? 'timed_out' : 'failed') : null);
}

/** One warning per cell (in the order of `runs`) whose validation split is too thin for a validation-metric rule. */
export function thinValidationWarnings(axes: readonly string[], runs: readonly RunRow[], rule: Rule): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of runs) {
    if (r.trainer !== undefined && r.trainer !== 'builtin') continue; // no validation split of the built-in task
    const key = cellKey(axes, r.params);
    if (seen.has(key)) continue;
    seen.add(key);
    const w = thinValidationWarning(rule, key, { n_samples: Number(r.params.n_samples), test_fraction: Number(r.params.test_fraction) });
    if (w) out.push(w);
  }
  return out;
}
