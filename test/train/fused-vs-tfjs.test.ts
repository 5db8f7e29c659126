import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeDataset, type Dataset } from '../../src/data/sequences';
import type { EpochMetrics, LstmWeights, Trainer, TrainRequest } from '../../src/train/contract';
import { createFusedTrainer, fusedEngine, type FusedTrainer } from '../../src/train/fused';
import { batchesOf, epochOrder, initWeights } from '../../src/train/init';
import { createTfjsTrainer, loadTf, tfjsEngine, type LoadedTf, type TfjsTrainer } from '../../src/train/tfjs';
import { seedRequest } from '../../src/sweep/request';

/**
 * The fused engine against the tfjs-layers reference, from the same initial weights
 * (initWeights) and the same batch order (epochOrder/batchesOf).
 * Tolerance: |a − b| ≤ 1e-4·max(|a|, |b|) + 1e-6. The fused engine computes in float64, tfjs
 * in float32, so the differences are tfjs's rounding carried through Adam.
 *
 * Data: seq_len 40, n_samples 41 is the whole population (every row k = 0..40 drawn), so the
 * all-zero row k = 40 (entirely masked) is always there; with seed 4 it falls in the train
 * split and is the very first row of epoch 1 (asserted below). 37 train rows: batch 32 gives
 * one full and one short batch. Seed 4 also starts with a live relu on every other row: a
 * seed whose output starts dead (seed 3 is one) moves nothing on either engine and would make
 * the comparison vacuous, so each epoch test also asserts that every weight tensor moved.
 * Seed 22 starts with the relu alive on only some rows (the gate between rows is exercised).
 */
const REL = 1e-4;
const ABS = 1e-6;
const SEQ = 40;
const N = 41;
const SEED = 4;
const MIXED_SEED = 22;

function request(over: { batchSize: number; masking: boolean; hard: boolean; epochs?: number }): TrainRequest {
  return seedRequest({
    engine: 'fused',
    seqLen: SEQ,
    nSamples: N,
    seed: SEED,
    model: { recurrentActivation: over.hard ? 'hard_sigmoid' : 'sigmoid', masking: over.masking },
    train: { epochs: over.epochs ?? 1, batchSize: over.batchSize },
  });
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= REL * Math.max(Math.abs(a), Math.abs(b)) + ABS;
}

function assertClose(a: number, b: number, what: string): void {
  assert.ok(close(a, b), `${what}: fused ${a} vs tfjs ${b} (|diff| ${Math.abs(a - b)})`);
}

function assertWeightsClose(fused: LstmWeights, ref: LstmWeights, when: string): void {
  for (const name of ['kernel', 'recurrentKernel', 'bias', 'denseKernel', 'denseBias'] as const) {
    const a = fused[name];
    const b = ref[name];
    assert.equal(a.length, b.length, `${name} length`);
    for (let i = 0; i < a.length; i++) assertClose(a[i]!, b[i]!, `${when}: ${name}[${i}]`);
  }
}

/** Largest |change| of a tensor since the initial weights: > 0 shows the comparison is not vacuous. */
function assertMoved(now: LstmWeights, init: LstmWeights): void {
  for (const name of ['kernel', 'recurrentKernel', 'bias', 'denseKernel', 'denseBias'] as const) {
    let most = 0;
    for (let i = 0; i < now[name].length; i++) most = Math.max(most, Math.abs(now[name][i]! - init[name][i]!));
    assert.ok(most > 1e-5, `${name} did not move (max change ${most}): the comparison would prove nothing`);
  }
}

function pair(tf: LoadedTf, req: TrainRequest, data: Dataset): { fused: FusedTrainer; ref: TfjsTrainer } {
  const w = initWeights(req.model, 1, req.seed);
  return {
    fused: createFusedTrainer(req, data, w),
    ref: createTfjsTrainer(tf.tf, tf.backend, req, data, initWeights(req.model, 1, req.seed)),
  };
}

/**
 * One Adam step on both engines. The batch metrics are means of pred − y, a difference of
 * nearly equal numbers once the model fits (batch 1: |pred − y| ≈ 0.005 while pred ≈ 0.5), so
 * they inherit the predictions' tolerance on the scale of the targets instead of their own:
 * |Δmae| ≤ 1e-4·max(|a|, |b|, mean y) + 1e-6, |Δloss| ≤ 2e-4·max(|a|, |b|, mean y²) + 1e-6
 * (Δloss ≈ 2·|e|·Δpred and 2|e|y ≤ e² + y²). Predictions themselves are compared at the
 * standard tolerance after each epoch test.
 */
function stepBoth(p: { fused: Trainer; ref: Trainer }, rows: Int32Array, y: Float32Array, what: string): void {
  let my = 0;
  let my2 = 0;
  for (const r of rows) {
    my += y[r]! / rows.length;
    my2 += (y[r]! * y[r]!) / rows.length;
  }
  const a = p.fused.trainBatch(rows);
  const b = p.ref.trainBatch(rows);
  const dl = Math.abs(a.loss - b.loss);
  const dm = Math.abs(a.mae - b.mae);
  assert.ok(dl <= 2 * REL * Math.max(a.loss, b.loss, my2) + ABS, `${what}: batch loss fused ${a.loss} vs tfjs ${b.loss}`);
  assert.ok(dm <= REL * Math.max(a.mae, b.mae, my) + ABS, `${what}: batch mae fused ${a.mae} vs tfjs ${b.mae}`);
}

function assertPredictionsClose(p: { fused: FusedTrainer; ref: TfjsTrainer }, data: Dataset): void {
  for (const [x, n, split] of [[data.trainX, data.nTrain, 'train'], [data.testX, data.nTest, 'test']] as const) {
    const a = p.fused.predict(x, n);
    const b = p.ref.predict(x, n);
    for (let i = 0; i < n; i++) assertClose(a[i]!, b[i]!, `${split} prediction ${i}`);
  }
}

describe('fused engine vs tfjs-layers (|a−b| ≤ 1e-4·max(|a|,|b|) + 1e-6)', () => {
  let tf: LoadedTf;
  let data: Dataset;
  let allZeroRow: number;
  before(async () => {
    tf = await loadTf();
    data = makeDataset(SEQ, N, 0.1, SEED);
    allZeroRow = Array.from(data.rowsDrawn.subarray(0, data.nTrain)).indexOf(SEQ);
  });

  test('the test data has an entirely masked train row, visited first in epoch 1', () => {
    assert.ok(allZeroRow >= 0);
    assert.equal(epochOrder(data.nTrain, 1, SEED, true)[0], allZeroRow);
    assert.ok(data.nTrain > 32);
  });

  for (const masking of [true, false]) {
    for (const hard of [false, true]) {
      const label = `${hard ? 'hard_sigmoid' : 'sigmoid'} gates, masking ${masking ? 'on' : 'off'}`;

      test(`one step at batch 1 gives the same weights, on an all-zero row and on a regular row (${label})`, () => {
        const req = request({ batchSize: 1, masking, hard });
        const regular = Array.from(data.rowsDrawn.subarray(0, data.nTrain)).indexOf(Math.floor(SEQ / 4));
        for (const row of [allZeroRow, regular]) {
          const p = pair(tf, req, data);
          try {
            stepBoth(p, Int32Array.of(row), data.trainY, `row ${row}`);
            assertWeightsClose(p.fused.getWeights(), p.ref.getWeights(), `after one step on row ${row}`);
          } finally {
            p.fused.dispose();
            p.ref.dispose();
          }
        }
      });

      for (const batchSize of [1, 32]) {
        test(`${batchSize === 32 ? 'one step and one epoch' : 'one epoch'} at batch ${batchSize} ${batchSize === 32 ? 'end' : 'ends'} with the same weights and batch losses (${label})`, () => {
          const req = request({ batchSize, masking, hard });
          const p = pair(tf, req, data);
          try {
            const batches = batchesOf(epochOrder(data.nTrain, 1, SEED, true), batchSize);
            batches.forEach((rows, i) => {
              stepBoth(p, rows, data.trainY, `batch ${i}`);
              if (i === 0) assertWeightsClose(p.fused.getWeights(), p.ref.getWeights(), 'after one step');
            });
            assertWeightsClose(p.fused.getWeights(), p.ref.getWeights(), 'after one epoch');
            assertMoved(p.fused.getWeights(), initWeights(req.model, 1, SEED));
            assertPredictionsClose(p, data);
            const a = p.fused.evaluate(data.testX, data.testY, data.nTest);
            const b = p.ref.evaluate(data.testX, data.testY, data.nTest);
            assertClose(a.loss, b.loss, 'val loss');
            assertClose(a.mae, b.mae, 'val mae');
            assertClose(a.maxOutput, b.maxOutput, 'max output');
          } finally {
            p.fused.dispose();
            p.ref.dispose();
          }
        });
      }
    }
  }

  test('one epoch at batch 1 ends with the same weights when the relu starts alive on only some rows', () => {
    const req = { ...request({ batchSize: 1, masking: true, hard: false }), seed: MIXED_SEED };
    const mixed = makeDataset(SEQ, N, 0.1, MIXED_SEED);
    const p = pair(tf, req, mixed);
    try {
      const before = p.fused.predict(mixed.trainX, mixed.nTrain);
      const alive = before.filter((v) => v > 0).length;
      assert.ok(alive > 0 && alive < mixed.nTrain - 1, `${alive} of ${mixed.nTrain} rows alive at the start`);
      batchesOf(epochOrder(mixed.nTrain, 1, MIXED_SEED, true), 1).forEach((rows, i) => stepBoth(p, rows, mixed.trainY, `batch ${i}`));
      assertWeightsClose(p.fused.getWeights(), p.ref.getWeights(), 'after one epoch');
      assertMoved(p.fused.getWeights(), initWeights(req.model, 1, MIXED_SEED));
      assertPredictionsClose(p, mixed);
    } finally {
      p.fused.dispose();
      p.ref.dispose();
    }
  });

  test('a 3-epoch run reports the same per-epoch loss and val_mae on both engines', async () => {
    const req = request({ batchSize: 4, masking: true, hard: false, epochs: 3 });
    const a: EpochMetrics[] = [];
    const b: EpochMetrics[] = [];
    const sa = await fusedEngine.train({ ...req, engine: 'fused' }, { onEpoch: (m) => a.push(m) });
    const sb = await tfjsEngine.train({ ...req, engine: 'tfjs' }, { onEpoch: (m) => b.push(m) });
    // The default kernel: WebAssembly SIMD unless CONVERGE_KERNEL=js asks for the JS reference.
    assert.equal(sa.backend, process.env.CONVERGE_KERNEL?.startsWith('js') ? 'fused-js' : 'fused-wasm-simd');
    assert.equal(a.length, 3);
    assert.equal(b.length, 3);
    for (let e = 0; e < 3; e++) {
      assertClose(a[e]!.loss, b[e]!.loss, `epoch ${e + 1} loss`);
      assertClose(a[e]!.mae, b[e]!.mae, `epoch ${e + 1} mae`);
      assertClose(a[e]!.valLoss!, b[e]!.valLoss!, `epoch ${e + 1} val_loss`);
      assertClose(a[e]!.valMae!, b[e]!.valMae!, `epoch ${e + 1} val_mae`);
    }
    assert.equal(sa.deadOutput, sb.deadOutput);
    assert.equal(sa.diverged, sb.diverged);
  });

  for (const n of [2, 20]) {
    test(`with test_fraction 0 at n_samples ${n}, both engines train every row, report null validation metrics and the same loss and population metrics`, async () => {
      // The population metrics at the tolerance of the whole-run test below (1e-4): they are
      // what the default rule scores when there is no validation split.
      const req = { ...request({ batchSize: 1, masking: true, hard: false, epochs: 3 }), nSamples: n, testFraction: 0 };
      const a: EpochMetrics[] = [];
      const b: EpochMetrics[] = [];
      const sa = await fusedEngine.train({ ...req, engine: 'fused' }, { onEpoch: (m) => a.push(m) });
      const sb = await tfjsEngine.train({ ...req, engine: 'tfjs' }, { onEpoch: (m) => b.push(m) });
      assert.equal(sa.aliveAtInit, true, 'seed 4 starts alive, so the comparison is not vacuous');
      assert.equal(a.length, 3);
      assert.equal(b.length, 3);
      for (let e = 0; e < 3; e++) {
        for (const m of [a[e]!, b[e]!]) {
          assert.equal(m.valLoss, null);
          assert.equal(m.valMae, null);
        }
        assertClose(a[e]!.loss, b[e]!.loss, `epoch ${e + 1} loss`);
        assertClose(a[e]!.mae, b[e]!.mae, `epoch ${e + 1} mae`);
        for (const k of ['popMae', 'popLoss', 'unseenMae'] as const) {
          assert.ok(Math.abs(a[e]![k]! - b[e]![k]!) <= 1e-4, `epoch ${e + 1} ${k}: fused ${a[e]![k]} vs tfjs ${b[e]![k]}`);
        }
      }
      assert.ok(a[2]!.popLoss !== a[0]!.popLoss, 'training moved the population loss');
      assert.equal(sa.diverged, false);
      assert.equal(sb.diverged, false);
    });
  }

  test('a whole run through both engines records the same epoch-1 population metrics within 1e-4', async () => {
    // L=40, N=30: 11 rows never drawn, so unseen_mae is defined. Seed 4 starts alive.
    const req = { ...seedRequest({ seqLen: SEQ, nSamples: 30, seed: SEED, train: { epochs: 1 } }) };
    const a: EpochMetrics[] = [];
    const b: EpochMetrics[] = [];
    const sa = await fusedEngine.train({ ...req, engine: 'fused' }, { onEpoch: (m) => a.push(m) });
    const sb = await tfjsEngine.train({ ...req, engine: 'tfjs' }, { onEpoch: (m) => b.push(m) });
    assert.equal(sa.aliveAtInit, true);
    assert.equal(sb.aliveAtInit, true);
    for (const k of ['popMae', 'popLoss', 'unseenMae'] as const) {
      assert.ok(Math.abs(a[0]![k]! - b[0]![k]!) <= 1e-4, `${k}: fused ${a[0]![k]} vs tfjs ${b[0]![k]}`);
    }
  });
});
