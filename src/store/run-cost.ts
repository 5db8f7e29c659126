import { runCost } from '../grid/cost';
import type { Db } from './open';

const registered = new WeakSet<Db>();

/**
 * Makes `run_cost(engine, seq_len, n_samples, test_fraction, epochs, batch_size, masking)`
 * callable in SQL on this connection: grid/cost.ts's runCost on a run's columns. Idempotent.
 */
function registerRunCost(db: Db): void {
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

/**
 * Store the cost of every run that has none (`runs.cost` is filled when a run is planned; runs
 * planned before schema 5, or merged from an older shard, have NULL), from the same cost model,
 * so the claim order (runs.ts claimRuns) never evaluates it per claim. Returns the runs filled.
 */
export function fillRunCosts(db: Db): number {
  registerRunCost(db);
  return db
    .prepare(`UPDATE runs SET cost = run_cost(engine, seq_len, n_samples, test_fraction, epochs, batch_size, masking) WHERE cost IS NULL AND engine IS NOT NULL`)
    .run().changes;
}
