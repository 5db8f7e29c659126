import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EpochMetrics, TrainRequest } from '../../src/train/contract';
import { loadTf, tfjsEngine } from '../../src/train/tfjs';
import { seedRequest } from '../../src/sweep/request';
import { collectingContext, importExample, type Reported } from './xor-module';

const TOLERANCE = 1e-6;

/** The built-in engine's epoch record, under the names a user trainer reports (null: not reported). */
function asReported(m: EpochMetrics): Reported {
  const all: Record<string, number | null> = {
    loss: m.loss,
    mae: m.mae,
    val_loss: m.valLoss,
    val_mae: m.valMae,
    pop_loss: m.popLoss,
    pop_mae: m.popMae,
    unseen_mae: m.unseenMae,
    pop_max_output: m.popMaxOutput,
  };
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(all)) if (v !== null) metrics[k] = v;
  return { epoch: m.epoch, metrics };
}

/** The request's resolved parameters under the spec's (and the module's) names. */
function paramsOf(req: TrainRequest): Record<string, unknown> {
  return {
    seq_len: req.seqLen,
    n_samples: req.nSamples,
    test_fraction: req.testFraction,
    units: req.model.units,
    recurrent_activation: req.model.recurrentActivation,
    kernel_initializer: req.model.kernelInitializer,
    kernel_gain: req.model.kernelGain,
    recurrent_initializer: req.model.recurrentInitializer,
    recurrent_gain: req.model.recurrentGain,
    unit_forget_bias: req.model.unitForgetBias,
    masking: req.model.masking,
    output_activation: req.model.outputActivation,
    epochs: req.train.epochs,
    batch_size: req.train.batchSize,
    learning_rate: req.train.learningRate,
    beta_1: req.train.beta1,
    beta_2: req.train.beta2,
    epsilon: req.train.epsilon,
    shuffle: req.train.shuffle,
  };
}

async function bothEngines(req: TrainRequest): Promise<{ builtin: Reported[]; module: Reported[] }> {
  const builtin: Reported[] = [];
  await tfjsEngine.train(req, { onEpoch: (m) => builtin.push(asReported(m)) });
  const lstm = await importExample('lstm-tfjs', 'lstm.mjs');
  const { ctx, epochs } = collectingContext(req.seed);
  const { tf } = await loadTf();
  const tensors = tf.memory().numTensors;
  await lstm.train(paramsOf(req), ctx);
  assert.equal(tf.memory().numTensors, tensors, 'the module leaves no tensor behind');
  return { builtin, module: epochs };
}

function assertSameEpochs(module: Reported[], builtin: Reported[]): void {
  assert.deepEqual(
    module.map((e) => e.epoch),
    builtin.map((e) => e.epoch),
  );
  module.forEach((e, i) => {
    const b = builtin[i]!;
    assert.deepEqual(Object.keys(e.metrics).sort(), Object.keys(b.metrics).sort(), `epoch ${e.epoch}: the same metrics`);
    for (const [name, v] of Object.entries(b.metrics)) {
      const got = e.metrics[name]!;
      assert.ok(Math.abs(got - v) <= TOLERANCE, `epoch ${e.epoch} ${name}: module ${got}, built-in ${v}`);
    }
  });
}

describe('examples/lstm-tfjs/lstm.mjs, the seed LSTM as a tfjs-layers module trainer', () => {
  it('exports train, the built-in parameters it uses with their defaults, and the directions of its metrics', async () => {
    const lstm = await importExample('lstm-tfjs', 'lstm.mjs');
    assert.equal(typeof lstm.train, 'function');
    assert.equal(lstm.params?.units?.default, 10);
    assert.equal(lstm.params?.kernel_gain?.default, 0.01);
    assert.equal(lstm.params?.seq_len?.default, undefined, 'seq_len must be set by the sweep');
    assert.equal(lstm.metrics?.pop_mae, 'below');
  });

  it("records every metric of the built-in engine: tfjs's epochs within 1e-6 for the same parameters and seed (the seed model, batch 1, a validation split and unseen rows)", { timeout: 120_000 }, async () => {
    const req = seedRequest({ engine: 'tfjs', seqLen: 12, nSamples: 10, testFraction: 0.2, seed: 4, train: { epochs: 4 } });
    const { builtin, module } = await bothEngines(req);
    assert.equal(builtin.length, 4);
    assert.deepEqual(Object.keys(module[0]!.metrics).sort(), ['loss', 'mae', 'pop_loss', 'pop_mae', 'pop_max_output', 'unseen_mae', 'val_loss', 'val_mae']);
    assertSameEpochs(module, builtin);
    // The run trained: the numbers moved, so equality is not two untouched initial states.
    assert.notEqual(module[0]!.metrics.loss, module[3]!.metrics.loss);
  });

  it('matches the built-in engine too with batches of 3, hard_sigmoid gates, a linear output, no validation split and every row drawn', { timeout: 120_000 }, async () => {
    const req = seedRequest({
      engine: 'tfjs',
      seqLen: 9,
      nSamples: 10,
      testFraction: 0,
      seed: 11,
      model: { recurrentActivation: 'hard_sigmoid', outputActivation: 'linear', units: 4 },
      train: { epochs: 5, batchSize: 3, learningRate: 0.01 },
    });
    const { builtin, module } = await bothEngines(req);
    assert.equal(builtin.length, 5);
    assert.deepEqual(Object.keys(module[0]!.metrics).sort(), ['loss', 'mae', 'pop_loss', 'pop_mae', 'pop_max_output']);
    assertSameEpochs(module, builtin);
    assert.notEqual(module[0]!.metrics.loss, module[4]!.metrics.loss);
  });

  it('matches the built-in engine for a seed whose ReLU output is dead from the start (every epoch the same)', { timeout: 120_000 }, async () => {
    const req = seedRequest({ engine: 'tfjs', seqLen: 12, nSamples: 10, testFraction: 0.2, seed: 7, train: { epochs: 3 } });
    const { builtin, module } = await bothEngines(req);
    assertSameEpochs(module, builtin);
    assert.equal(module[2]!.metrics.pop_max_output! <= 0, true);
  });

  it('an abort stops it between batches: train rejects with the reason', { timeout: 60_000 }, async () => {
    const lstm = await importExample('lstm-tfjs', 'lstm.mjs');
    const controller = new AbortController();
    const { ctx, epochs } = collectingContext(4, controller.signal, () => controller.abort(new Error('stopped by the test')));
    const params = paramsOf(seedRequest({ engine: 'tfjs', seqLen: 8, nSamples: 9, testFraction: 0, seed: 4, train: { epochs: 50 } }));
    await assert.rejects(lstm.train(params, ctx), /stopped by the test/);
    assert.deepEqual(
      epochs.map((e) => e.epoch),
      [1],
    );
  });
});
