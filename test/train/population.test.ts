import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeDataset, populationTargets } from '../../src/data/sequences';
import { seedRequest } from '../../src/sweep/request';
import type { EpochMetrics } from '../../src/train/contract';
import { createFusedTrainer, fusedEngine } from '../../src/train/fused';
import { FusedNet } from '../../src/train/fused/forward';
import { populationOutputs, populationOutputsPerRow } from '../../src/train/fused/population';
import { setWeights } from '../../src/train/fused/trainer';
import { batchesOf, epochOrder, initWeights } from '../../src/train/init';
import { populationMetrics } from '../../src/train/population';

/** A fused net trained for one epoch (so the weights are not the initial ones), with its options. */
function trainedNet(o: { seqLen: number; nSamples: number; seed: number; hard: boolean; relu: boolean; masking?: boolean; units?: number }): FusedNet {
  const req = seedRequest({
    seqLen: o.seqLen,
    nSamples: o.nSamples,
    seed: o.seed,
    model: { recurrentActivation: o.hard ? 'hard_sigmoid' : 'sigmoid', outputActivation: o.relu ? 'relu' : 'linear', masking: o.masking ?? true, units: o.units ?? 10 },
    train: { epochs: 1, batchSize: 4 },
  });
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const trainer = createFusedTrainer(req, data, initWeights(req.model, 1, req.seed));
  for (const rows of batchesOf(epochOrder(data.nTrain, 1, req.seed, true), 4)) trainer.trainBatch(rows);
  const net = new FusedNet({ inputDim: 1, units: req.model.units, seqLen: o.seqLen, hardSigmoid: o.hard, masking: o.masking ?? true, relu: o.relu });
  setWeights(net, trainer.getWeights());
  return net;
}

describe('population evaluation (all L+1 rows)', () => {
  for (const seqLen of [200, 2000]) {
    for (const hard of [false, true]) {
      for (const relu of [true, false]) {
        // L=2000 per row is 2M steps: once is enough there.
        if (seqLen === 2000 && (hard || !relu)) continue;
        it(`one shared trajectory equals every row run on its own within 1e-12 relative (L=${seqLen}, ${hard ? 'hard_sigmoid' : 'sigmoid'}, ${relu ? 'relu' : 'linear'})`, () => {
          const net = trainedNet({ seqLen, nSamples: seqLen === 2000 ? 50 : 130, seed: 1, hard, relu });
          const shared = populationOutputs(net);
          const perRow = populationOutputsPerRow(net);
          assert.equal(shared.length, seqLen + 1);
          let nonZero = 0;
          for (let k = 0; k <= seqLen; k++) {
            const a = shared[k]!;
            const b = perRow[k]!;
            assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)), `row ${k}: shared ${a} vs per-row ${b}`);
            if (a !== 0) nonZero++;
          }
          assert.ok(nonZero > 0, 'every output is 0: the comparison would prove nothing');
        });
      }
    }
  }

  it('with masking off the rows do not share a trajectory, and the per-row path is used', () => {
    const net = trainedNet({ seqLen: 30, nSamples: 20, seed: 1, hard: false, relu: false, masking: false });
    assert.deepEqual(populationOutputs(net), populationOutputsPerRow(net));
  });

  it('a dead net (output 0 on every row) has pop_mae = 0.5 within 1e-9, and no unseen rows gives null', () => {
    for (const L of [20, 200, 2000]) {
      const data = makeDataset(L, Math.min(L + 1, 100), 0.1, 3);
      const m = populationMetrics(new Float64Array(L + 1), data);
      assert.ok(Math.abs(m.popMae - 0.5) <= 1e-9, `L=${L}: ${m.popMae}`);
      assert.equal(m.popMaxOutput, 0);
      const t = populationTargets(L);
      let loss = 0;
      for (const y of t) loss += y * y;
      assert.ok(Math.abs(m.popLoss - loss / (L + 1)) <= 1e-12);
    }
    const whole = makeDataset(20, 21, 0.1, 3);
    assert.equal(populationMetrics(new Float64Array(21), whole).unseenMae, null);
  });

  it('unseen_mae is the MAE over exactly the rows never drawn (independent recount)', () => {
    const data = makeDataset(50, 20, 0.1, 7);
    const out = new Float64Array(51).map((_, k) => Math.sin(k));
    const drawn = new Set(data.rowsDrawn);
    let s = 0;
    let n = 0;
    for (let k = 0; k <= 50; k++) {
      if (drawn.has(k)) continue;
      s += Math.abs(out[k]! - (50 - k) / 50);
      n++;
    }
    assert.equal(n, 31);
    assert.ok(Math.abs(populationMetrics(out, data).unseenMae! - s / n) <= 1e-15);
  });

  it('a run records population metrics every epoch and whether it was alive at initialisation', async () => {
    let sawDead = false;
    let sawAlive = false;
    for (let seed = 1; seed <= 12 && !(sawDead && sawAlive); seed++) {
      const epochs: EpochMetrics[] = [];
      const req = seedRequest({ seqLen: 40, nSamples: 30, seed, train: { epochs: 3 } });
      const summary = await fusedEngine.train(req, { onEpoch: (m) => epochs.push(m) });
      assert.equal(epochs.length, 3);
      for (const m of epochs) {
        assert.ok(Number.isFinite(m.popMae) && Number.isFinite(m.popLoss) && m.unseenMae !== null);
      }
      if (!summary.aliveAtInit) {
        sawDead = true;
        // Zero gradients forever: output 0 everywhere, so pop_mae is the mean target, 0.5.
        assert.ok(Math.abs(epochs[2]!.popMae - 0.5) <= 1e-9);
        assert.equal(summary.deadOutput, true);
      } else sawAlive = true;
    }
    assert.ok(sawDead && sawAlive, 'seeds 1..12 should include a dead-at-init and an alive run');
  });
});
