import { runCost } from '../grid/cost';
import type { Db } from './open';

const registered = new WeakSet<Db>();

/**
 * Makes `run_cost(engine, seq_len, n_samples, test_fraction, epochs, batch_size, masking)`
 * callable in SQL on this connection: grid/cost.ts's runCost on a run's columns, so the claim
 * order (runs.ts claimRuns) and the time estimates use one cost model. Idempotent.
 */
export function registerRunCost(db: Db): void {
  if (registered.has(db)) return;
  db.function('run_cost', { deterministic: true }, (engine, seqLen, nSamples, testFraction, epochs, batchSize, masking) =>
    runCost({
      engine: engine === 'tfjs' ? 'tfjs' : 'fused',
      seq_len: Number(seqLen),
      n_samples: Number(nSamples),
      test_fraction: Number(testFraction),
      epochs: Number(epochs),
      batch_size: Number(batchSize),
      masking: Number(masking) !== 0,
    }),
  );
  registered.add(db);
}
