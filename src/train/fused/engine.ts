import { makeDataset } from '../../data/sequences';
import type { Engine, TrainHooks, TrainRequest, TrainSummary } from '../contract';
import { initWeights } from '../init';
import { runEpochs } from '../loop';
import { createFusedTrainer } from './trainer';

/**
 * The fast engine: the reference model as plain loops over typed arrays. Same data, same
 * initial weights and same batch order as the tfjs engine, so a request gives the same
 * numbers on either within tolerance (test/train/fused-vs-tfjs.test.ts).
 */
export const fusedEngine: Engine = {
  name: 'fused',
  async train(req: TrainRequest, hooks: TrainHooks): Promise<TrainSummary> {
    const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
    const weights = initWeights(req.model, 1, req.seed);
    const trainer = createFusedTrainer(req, data, weights);
    try {
      return await runEpochs(trainer, data, req, hooks);
    } finally {
      trainer.dispose();
    }
  },
};
