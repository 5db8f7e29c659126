import { makeDataset } from '../../data/sequences';
import type { Engine, TrainHooks, TrainRequest, TrainSummary } from '../contract';
import { initWeights } from '../init';
import { runEpochs } from '../loop';
import { loadTf } from './backend';
import { createTfjsTrainer } from './trainer';

/** The reference engine: tfjs-layers (tfjs-node when it loads, else the pure-JS cpu backend). */
export const tfjsEngine: Engine = {
  name: 'tfjs',
  async train(req: TrainRequest, hooks: TrainHooks): Promise<TrainSummary> {
    const { tf, backend } = await loadTf();
    const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
    const weights = initWeights(req.model, 1, req.seed);
    const trainer = createTfjsTrainer(tf, backend, req, data, weights);
    try {
      return await runEpochs(trainer, data, req, hooks);
    } finally {
      trainer.dispose();
    }
  },
};
