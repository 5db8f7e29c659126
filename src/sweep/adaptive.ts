/**
 * Adaptive repeats in a plain sweep: the plan of every cell grows, batch by batch, to the number
 * of seeds `seedsWanted` asks for given the outcomes the database holds. Seeds beyond `min` are
 * ordinary runs (seed spec.seed + r, run key from parameters and seed), so a rerun, a second
 * runner on the same database and a resumed run all grow the same cells the same way.
 */
import { canonicalJson, runKeyOf, type Plan, type PlannedRun } from '../grid';
import { countOfRow, seedOutcome, seedsWanted, type SeedOutcome } from '../search';
import type { SweepSpec } from '../spec';
import { readRunsOfCells, type Db } from '../store';

/** The plan with every cell's seeds as the adaptive decision wants them now (unchanged without adaptive repeats). */
export function adaptivePlan(db: Db, spec: SweepSpec, plan: Plan): Plan {
  const cfg = spec.adaptive;
  if (!cfg) return plan;
  const rows = readRunsOfCells(db, plan.cells.map((c) => c.cellKey));
  const byCell = new Map<string, SeedOutcome[]>();
  const present = new Map<string, number>();
  for (const r of rows) {
    if (r.seed !== spec.seed + r.repeat || r.repeat >= cfg.max) continue;
    let out = byCell.get(r.cellKey);
    if (!out) byCell.set(r.cellKey, (out = []));
    // Adaptive repeats count every run (the report's n): the outcome module's rule with among all.
    out[r.repeat] = seedOutcome(countOfRow(r, 'all'));
    present.set(r.cellKey, Math.max(present.get(r.cellKey) ?? 0, r.repeat + 1));
  }
  const runs: PlannedRun[] = [];
  let timestepEpochs = 0;
  for (const cell of plan.cells) {
    // Runs already recorded stay in the plan (another runner may have grown the cell first: its
    // decision was the same function of the same outcomes).
    const count = Math.max(seedsWanted(cfg, byCell.get(cell.cellKey) ?? []), present.get(cell.cellKey) ?? 0);
    const json = canonicalJson(cell.params);
    for (let r = 0; r < count; r++) {
      const seed = spec.seed + r;
      runs.push({ runKey: runKeyOf(json, seed), cellKey: cell.cellKey, repeat: r, seed, params: cell.params, paramsJson: json });
      timestepEpochs += cell.params.seq_len * cell.params.n_samples * cell.params.epochs;
    }
  }
  return { ...plan, runs, timestepEpochs };
}
