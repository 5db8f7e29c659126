import type { Dataset } from '../data/sequences';
import type { EpochMetrics, TrainHooks, Trainer, TrainRequest, TrainSummary } from './contract';
import { batchesOf, epochOrder } from './init';
import { aliveAtInit, populationMetrics } from './population';
import { populationTargets } from '../data/sequences';

export class AbortedError extends Error {
  constructor() {
    super('run aborted');
    this.name = 'AbortError';
  }
}

/**
 * The epoch loop shared by every engine: seeded batch order, Keras-style epoch metrics (train
 * loss/mae = batch-size-weighted mean of the per-batch values seen during the epoch; val
 * metrics = a full forward pass over the test split after the epoch; population metrics = the
 * outputs for all L+1 rows after the epoch), stop on NaN/Inf. Before the first update it checks
 * whether the ReLU output is alive on some training row (TrainSummary.aliveAtInit).
 */
export async function runEpochs(
  trainer: Trainer,
  data: Dataset,
  req: TrainRequest,
  hooks: TrainHooks,
): Promise<TrainSummary> {
  hooks.onBackend?.(trainer.backend);
  let diverged = false;
  let epochsRun = 0;
  const relu = req.model.outputActivation === 'relu';
  const targets = populationTargets(data.seqLen);
  const initial = trainer.predictPopulation();
  const alive = aliveAtInit(initial, data, relu);
  let pop = populationMetrics(initial, data, targets);
  for (let epoch = 1; epoch <= req.train.epochs; epoch++) {
    const t0 = performance.now();
    const order = epochOrder(data.nTrain, epoch, req.seed, req.train.shuffle);
    let lossSum = 0;
    let maeSum = 0;
    for (const rows of batchesOf(order, req.train.batchSize)) {
      if (hooks.signal?.aborted) throw new AbortedError();
      const b = trainer.trainBatch(rows);
      lossSum += b.loss * rows.length;
      maeSum += b.mae * rows.length;
    }
    // No validation rows (test_fraction 0): nothing to measure, so null, never a mean of nothing.
    const val = data.nTest > 0 ? trainer.evaluate(data.testX, data.testY, data.nTest) : null;
    pop = populationMetrics(trainer.predictPopulation(), data, targets);
    const m: EpochMetrics = {
      epoch,
      loss: lossSum / data.nTrain,
      mae: maeSum / data.nTrain,
      valLoss: val ? val.loss : null,
      valMae: val ? val.mae : null,
      ...pop,
      seconds: (performance.now() - t0) / 1000,
    };
    epochsRun = epoch;
    hooks.onEpoch(m);
    // The check after the epoch's last update: on the validation split, or without one on the
    // population (the same weights on a superset of those rows), as src/outcome's divergedAt reads it.
    const after = val ? [val.loss, val.mae] : [pop.popLoss, pop.popMae];
    if (![m.loss, m.mae, ...after].every(Number.isFinite)) {
      diverged = true;
      break;
    }
    if (epoch < req.train.epochs && trainer.isFrozen?.()) {
      // A fixed point: the weights are the initial ones and Adam's state is zero, so each later
      // epoch sees the same weights and again zero gradients. Its metrics are this epoch's (the
      // train means only re-sum the same per-row values in another order: equal to ~1e-16).
      for (let e = epoch + 1; e <= req.train.epochs; e++) hooks.onEpoch({ ...m, epoch: e, seconds: 0 });
      epochsRun = req.train.epochs;
      break;
    }
    // Yield to the event loop so abort signals and port messages get through between epochs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // Dead: the output is 0 on every one of the L+1 rows, not only on the rows drawn.
  const deadOutput = !diverged && relu && pop.popMaxOutput <= 0;
  return {
    backend: trainer.backend,
    epochsRun,
    aliveAtInit: alive,
    deadOutput,
    diverged,
    ...(trainer.notice !== undefined ? { notice: trainer.notice } : {}),
  };
}
