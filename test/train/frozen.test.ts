import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeDataset } from '../../src/data/sequences';
import { seedRequest } from '../../src/sweep/request';
import type { EpochMetrics, Trainer } from '../../src/train/contract';
import { createFusedTrainer } from '../../src/train/fused';
import { initWeights } from '../../src/train/init';
import { runEpochs } from '../../src/train/loop';

const SEQ = 40;

function trainerFor(seed: number) {
  const req = seedRequest({ seqLen: SEQ, nSamples: SEQ + 1, seed, train: { epochs: 6 } });
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const trainer = createFusedTrainer(req, data, initWeights(req.model, 1, req.seed));
  return { req, data, trainer };
}

/** The same trainer with the fixed-point shortcut hidden, so every epoch is computed. */
function withoutShortcut(t: Trainer): Trainer {
  return {
    backend: t.backend,
    trainBatch: (rows) => t.trainBatch(rows),
    evaluate: (x, y, n) => t.evaluate(x, y, n),
    predictPopulation: () => t.predictPopulation(),
    getWeights: () => t.getWeights(),
    dispose: () => t.dispose(),
  };
}

async function epochsOf(t: Trainer, seed: number): Promise<EpochMetrics[]> {
  const { req, data } = trainerFor(seed);
  const out: EpochMetrics[] = [];
  await runEpochs(t, data, req, { onEpoch: (m) => out.push(m) });
  return out;
}

/** The first seed whose ReLU output is <= 0 on every train row at initialisation. */
function deadSeed(): number {
  for (let seed = 1; seed < 200; seed++) {
    const { data, trainer } = trainerFor(seed);
    if (trainer.evaluate(data.trainX, data.trainY, data.nTrain).maxOutput <= 0) return seed;
  }
  throw new Error('no dead-at-init seed below 200');
}

describe('a run whose ReLU is dead from initialisation', () => {
  it('is recognised as a fixed point and its skipped epochs equal fully computed ones', async () => {
    const seed = deadSeed();
    const fast = trainerFor(seed).trainer;
    const shortcut = await epochsOf(fast, seed);
    assert.equal(fast.isFrozen?.(), true);
    const full = await epochsOf(withoutShortcut(trainerFor(seed).trainer), seed);
    assert.equal(shortcut.length, 6);
    assert.equal(full.length, 6);
    for (let i = 0; i < 6; i++) {
      assert.equal(shortcut[i]!.epoch, full[i]!.epoch);
      for (const k of ['loss', 'mae', 'valLoss', 'valMae'] as const) {
        const a = shortcut[i]![k]!;
        const b = full[i]![k]!;
        assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)), `epoch ${i + 1} ${k}: ${a} vs ${b}`);
      }
    }
    assert.deepEqual(fast.getWeights(), initWeights(trainerFor(seed).req.model, 1, seed), 'no weight ever moved');
  });

  it('a live run is never taken for a fixed point', async () => {
    for (let seed = 1; seed < 200; seed++) {
      const { data, trainer } = trainerFor(seed);
      if (trainer.evaluate(data.trainX, data.trainY, data.nTrain).maxOutput > 0) {
        const shortcut = await epochsOf(trainer, seed);
        assert.equal(trainer.isFrozen?.(), false);
        const full = await epochsOf(withoutShortcut(trainerFor(seed).trainer), seed);
        assert.deepEqual(shortcut.map((m) => m.valMae), full.map((m) => m.valMae));
        return;
      }
    }
    assert.fail('no live seed found');
  });
});
