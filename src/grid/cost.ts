import { testCount } from '../data/sequences';
import type { ResolvedParams } from '../spec';
import type { Plan } from './expand';

/**
 * The time a run takes, from a cost model: the work is counted in timesteps and multiplied by a
 * per-timestep cost of the engine's kernels. The constants are measured by `npm run bench`
 * (its "µs per unmasked timestep" for fused; its tfjs seconds per epoch at batch 1 and 32 for
 * tfjs); recalibrate them from there when the kernels change, never from a guess.
 */

/** fused: µs per unmasked row-timestep, forward + backward + Adam. Measured by `npm run bench`. */
export const FUSED_US_PER_UNMASKED_TIMESTEP = 1.65;
/**
 * tfjs computes every timestep of every row (masking only selects results) and pays a large
 * per-op overhead per batch: µs per batch-timestep plus µs per row-timestep, fitted to the
 * batch-1 and batch-32 seconds per epoch of `npm run bench`.
 */
export const TFJS_US_PER_BATCH_TIMESTEP = 1100;
export const TFJS_US_PER_ROW_TIMESTEP = 52;

/** The parameters the cost depends on (all are columns of `runs`, so a reader can estimate too). */
export type CostParams = Pick<ResolvedParams, 'engine' | 'seq_len' | 'n_samples' | 'test_fraction' | 'epochs' | 'batch_size' | 'masking'>;

/**
 * Timesteps one run processes: every train row's unmasked length per epoch, plus the validation
 * rows'. Rows are drawn at random from the L+1 population rows, whose unmasked lengths are
 * 0..L, so a row's expected unmasked length is L/2 (L without masking).
 */
export function unmaskedTimesteps(p: CostParams): number {
  const rows = p.n_samples; // train + validation rows
  const len = p.masking ? p.seq_len / 2 : p.seq_len;
  return rows * len * p.epochs;
}

/**
 * Expected seconds of one run on one worker. An upper-ish estimate for fused: a run whose ReLU
 * output is dead from initialisation stops computing after its first epoch.
 */
export function estimateRunSeconds(p: CostParams): number {
  if (p.engine === 'tfjs') {
    const nTest = testCount(p.n_samples, p.test_fraction);
    const nTrain = p.n_samples - nTest;
    const batches = Math.ceil(nTrain / p.batch_size) + Math.ceil(nTest / p.batch_size);
    const perEpoch = p.seq_len * (batches * TFJS_US_PER_BATCH_TIMESTEP + p.n_samples * TFJS_US_PER_ROW_TIMESTEP);
    return (perEpoch * p.epochs) / 1e6;
  }
  return (unmaskedTimesteps(p) * FUSED_US_PER_UNMASKED_TIMESTEP) / 1e6;
}

/** Expected wall seconds of a whole plan on `workers` threads (runs spread evenly). */
export function estimatePlanSeconds(plan: Pick<Plan, 'runs'>, workers: number): number {
  let total = 0;
  for (const r of plan.runs) total += estimateRunSeconds(r.params);
  return total / Math.max(1, Math.min(workers, plan.runs.length || 1));
}
