import { testCount } from '../data/sequences';
import type { ResolvedParams } from '../spec';
import type { Plan } from './expand';

/**
 * What a run costs, in expected seconds on one worker: timesteps of work per epoch times a
 * per-timestep cost of the engine's kernels. The work count follows how the engines compute
 * (src/train/fused/shared.ts, backward.ts, population.ts); the constants are measured by
 * `npm run bench` (its "cost model calibration" lines) and must be re-measured there, never
 * guessed, when the kernels change. Used to claim the longest runs first (store/runs.ts).
 */

/**
 * The cost of a module or command trainer's run: unknown, so every such run costs the same and
 * the claim order is the plan order.
 */
export const USER_RUN_COST = 1;

/** µs per timestep, by kernel: forward + backward through time (train) and forward only (evaluation). */
export interface KernelCost {
  trainUsPerStep: number;
  forwardUsPerStep: number;
}

/** The plain-JS fused kernels (forward.ts, backward.ts, shared.ts), LSTM(10), from `npm run bench`. */
export const JS_KERNEL_COST: KernelCost = { trainUsPerStep: 2.9, forwardUsPerStep: 1.5 };

/**
 * The WebAssembly SIMD kernel (src/train/fused/wasm-kernel.ts), the default, LSTM(10), from
 * `npm run bench`'s calibration section. A thread that cannot load it trains on JS, slower.
 */
export const WASM_KERNEL_COST: KernelCost = { trainUsPerStep: 0.5, forwardUsPerStep: 0.3 };

/**
 * tfjs computes every timestep of every row (masking only selects results) and pays a per-op
 * overhead per batch: µs per batch-timestep plus µs per row-timestep, fitted by `npm run bench`
 * to its batch-1 and batch-32 epochs of the seed cell.
 */
export const TFJS_US_PER_BATCH_STEP = 1100;
export const TFJS_US_PER_ROW_STEP = 52;

/** The parameters the cost depends on: all are columns of `runs`, so the claim order can use it. */
export type CostParams = Pick<ResolvedParams, 'engine' | 'seq_len' | 'n_samples' | 'test_fraction' | 'epochs' | 'batch_size' | 'masking'>;

/** How the fused engine computes a batch: one shared trajectory (masking on) or row by row. */
export type BatchPath = 'shared' | 'per-row';

/**
 * Expected longest unmasked length among b rows drawn without replacement from the population,
 * whose unmasked lengths are 0..L once each: E[max] = b·(L+2)/(b+1) − 1 (order statistics of a
 * sample from {0..L}); L/2 for one row, → L as b grows.
 */
export function expectedLongest(seqLen: number, b: number): number {
  if (b <= 0) return 0;
  return (b * (seqLen + 2)) / (b + 1) - 1;
}

/** Timesteps of one fused epoch: trained (forward + backward) and forward-only. */
export function fusedEpochSteps(p: CostParams, path: BatchPath = 'shared'): { train: number; forward: number } {
  const L = p.seq_len;
  const nTest = testCount(p.n_samples, p.test_fraction);
  const nTrain = p.n_samples - nTest;
  if (!p.masking) {
    // Every row runs all L steps; the population's L+1 rows run one by one too.
    return { train: nTrain * L, forward: nTest * L + (L + 1) * L };
  }
  if (path === 'per-row') return { train: nTrain * expectedLongest(L, 1), forward: nTest * expectedLongest(L, 1) + L };
  // Shared: a batch costs its longest row, not the sum of its rows; validation and population
  // are one forward pass each (to the longest test row, and to L).
  const B = Math.min(p.batch_size, nTrain);
  const full = Math.floor(nTrain / B);
  const rest = nTrain - full * B;
  return {
    train: full * expectedLongest(L, B) + expectedLongest(L, rest),
    forward: expectedLongest(L, nTest) + L,
  };
}

/**
 * Expected seconds of one run on one worker. An upper-ish estimate for fused: a run whose ReLU
 * output is dead from initialisation stops computing after its first epoch. LSTM(10) costs:
 * other widths are not modelled.
 */
export function runCost(p: CostParams, kernel: KernelCost = WASM_KERNEL_COST, path: BatchPath = 'shared'): number {
  // A user trainer's run has none of these parameters (no engine): its cost is unknown.
  if (p.engine === undefined) return USER_RUN_COST;
  if (p.engine === 'tfjs') {
    const nTest = testCount(p.n_samples, p.test_fraction);
    const nTrain = p.n_samples - nTest;
    // Train and validation batches, and the population's L+1 rows as one batch (src/train/loop.ts).
    const batches = Math.ceil(nTrain / p.batch_size) + Math.ceil(nTest / p.batch_size) + 1;
    const rows = p.n_samples + p.seq_len + 1;
    const perEpoch = p.seq_len * (batches * TFJS_US_PER_BATCH_STEP + rows * TFJS_US_PER_ROW_STEP);
    return (perEpoch * p.epochs) / 1e6;
  }
  const s = fusedEpochSteps(p, path);
  return ((s.train * kernel.trainUsPerStep + s.forward * kernel.forwardUsPerStep) * p.epochs) / 1e6;
}

/** Expected seconds of one run on one worker, by the kernel the engine uses by default. */
export function estimateRunSeconds(p: CostParams): number {
  return runCost(p);
}

/** Expected wall seconds of a whole plan on `workers` threads (runs spread evenly). */
export function estimatePlanSeconds(plan: Pick<Plan, 'runs'>, workers: number): number {
  let total = 0;
  for (const r of plan.runs) total += estimateRunSeconds(r.params);
  return total / Math.max(1, Math.min(workers, plan.runs.length || 1));
}
