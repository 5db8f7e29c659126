/**
 * Budget curves: per cell, the converged rate as a function of the epoch budget, answering
 * "would more epochs help?" from the epochs already stored. Every run is scored as if it had
 * stopped after epoch e by the outcome module (through scoreRows), so the curve's last point is
 * the cell's rate by construction, not by a second copy of the rule.
 */
import type { Rule } from '../outcome';
import { cellKey, tallyRuns } from './cells';
import { epochsByRun, scoreGrouped } from './score';
import { wilson } from './stats';
import type { EpochRow, RunRow } from './types';

/** The JSON of one budget point; field names are part of `report --format json`. */
export interface BudgetPoint { epoch: number; converged: number; n: number; rate: number | null; ci_low: number; ci_high: number }

/**
 * A user trainer's cell has no planned epoch count it must declare (it may stop early): its
 * curve runs to the most epochs a finished run of the cell recorded; a run that stopped before a
 * budget is scored at its own last epoch.
 */
function userEpochs(runs: readonly RunRow[]): number {
  return Math.max(0, ...runs.filter((r) => r.status === 'done').map((r) => r.epochsRun ?? 0));
}

/** Most points a budget curve has: a user trainer may report thousands of epochs, and each point re-scores every run of the cell. */
export const MAX_BUDGET_POINTS = 200;

/** The budgets a curve is scored at: every epoch up to MAX_BUDGET_POINTS, else that many spread evenly, the last always in. */
export function budgetEpochs(last: number): number[] {
  if (last <= MAX_BUDGET_POINTS) return Array.from({ length: last }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: MAX_BUDGET_POINTS }, (_, i) => Math.round(((i + 1) * last) / MAX_BUDGET_POINTS)))];
}

/**
 * For each cell (keyed like CellSummary.key), the budget curve e = 1 … E (at most MAX_BUDGET_POINTS
 * epochs of it, evenly spread), where E is `upTo` (the
 * --epoch budget) or else the fewest epochs any run of the cell was planned for.
 * @param runs the runs as stored (not yet scored)
 */
export function budgetCurves(axes: readonly string[], runs: readonly RunRow[], epochs: readonly EpochRow[], rule: Rule, upTo?: number): Map<string, BudgetPoint[]> {
  const cells = new Map<string, RunRow[]>();
  for (const r of runs) {
    const key = cellKey(axes, r.params);
    let g = cells.get(key);
    if (!g) cells.set(key, (g = []));
    g.push(r);
  }
  const byRun = new Map<number, EpochRow[]>();
  for (const e of epochs) {
    let list = byRun.get(e.runId);
    if (!list) byRun.set(e.runId, (list = []));
    list.push(e);
  }
  const out = new Map<string, BudgetPoint[]>();
  for (const [key, cellRuns] of cells) {
    const planned = cellRuns.some((r) => r.trainer !== undefined && r.trainer !== 'builtin') ? userEpochs(cellRuns) : Math.min(...cellRuns.map((r) => Number(r.params.epochs)));
    const last = upTo ?? (Number.isFinite(planned) ? planned : 0);
    const cellEpochs = epochsByRun(cellRuns.flatMap((r) => byRun.get(r.id) ?? []));
    const curve: BudgetPoint[] = [];
    for (const e of budgetEpochs(last)) {
      const t = tallyRuns(scoreGrouped(cellRuns, cellEpochs, rule, e));
      const ci = wilson(t.k, t.n);
      curve.push({ epoch: e, converged: t.k, n: t.n, rate: t.n > 0 ? t.k / t.n : null, ci_low: ci.lo, ci_high: ci.hi });
    }
    out.set(key, curve);
  }
  return out;
}
