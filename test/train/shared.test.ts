import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeDataset, type Dataset } from '../../src/data/sequences';
import { seedRequest } from '../../src/sweep/request';
import type { BatchMetrics, TrainRequest } from '../../src/train/contract';
import { batchPathFromEnv, createFusedTrainer, jsKernel, type BatchPath, type FusedTrainer, type KernelChoice } from '../../src/train/fused';
import { batchGradient } from '../../src/train/fused/backward';
import { FusedNet, predictRow, syncTransposed } from '../../src/train/fused/forward';
import { sharedBatchGradient, sharedRowsOf } from '../../src/train/fused/shared';
import { batchesOf, epochOrder, initWeights } from '../../src/train/init';
import { createRng } from '../../src/util/rng';

/**
 * The shared-trajectory path (src/train/fused/shared.ts) against the per-row reference
 * (backward.ts batchGradient). Forward numbers (predictions, batch loss and MAE, evaluation)
 * are the same operations in the same order, so they must be bitwise equal. The gradient is the
 * same sum in another order, so the weights after one epoch must agree within
 * |a − b| ≤ 1e-12·max(|a|, |b|) elementwise (float64 rounding is ~1e-16 per operation; an
 * epoch of Adam steps carries it to ~1e-14 here, far inside).
 *
 * Data: seq_len 60, n_samples 61 is the whole population, so the all-zero row (zero unmasked
 * steps) is always in the data; 55 train rows make batch 32 one full and one short batch.
 * Seed 2 starts with the ReLU alive for every configuration below (a dead-at-init run gets zero
 * gradients on both paths and would prove nothing; each test asserts that the weights moved).
 */
const REL = 1e-12;
/** The plain-JS kernels: this file tests their shared path against their per-row path (the wasm kernel has test/train/fused-wasm.test.ts). */
const JS: KernelChoice = { kernel: jsKernel };
const SEED = 2;

interface Config {
  units: number;
  hard: boolean;
  relu: boolean;
  batchSize: number;
  masking?: boolean;
  seqLen?: number;
  nSamples?: number;
}

function request(c: Config): TrainRequest {
  return seedRequest({
    seqLen: c.seqLen ?? 60,
    nSamples: c.nSamples ?? 61,
    seed: SEED,
    model: {
      units: c.units,
      recurrentActivation: c.hard ? 'hard_sigmoid' : 'sigmoid',
      outputActivation: c.relu ? 'relu' : 'linear',
      masking: c.masking ?? true,
    },
    train: { epochs: 1, batchSize: c.batchSize },
  });
}

/** One epoch on the given path; returns the trainer and every batch's metrics. */
function oneEpoch(req: TrainRequest, data: Dataset, path: BatchPath): { trainer: FusedTrainer; metrics: BatchMetrics[] } {
  const trainer = createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: JS, batchPath: path });
  const metrics: BatchMetrics[] = [];
  for (const rows of batchesOf(epochOrder(data.nTrain, 1, req.seed, true), req.train.batchSize)) metrics.push(trainer.trainBatch(rows));
  return { trainer, metrics };
}

function assertRelClose(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    assert.ok(d <= REL * Math.max(Math.abs(a[i]!), Math.abs(b[i]!)), `${what}[${i}]: shared ${a[i]} vs per-row ${b[i]} (|diff| ${d})`);
  }
}

function assertMoved(now: Float64Array, init: Float64Array): void {
  let most = 0;
  for (let i = 0; i < now.length; i++) most = Math.max(most, Math.abs(now[i]! - init[i]!));
  assert.ok(most > 1e-5, `no weight moved (max change ${most}): the comparison would prove nothing`);
}

function compareEpoch(c: Config): void {
  const req = request(c);
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  // Evaluation and prediction on the shared trajectory, from the same weights: bitwise equal.
  const w = initWeights(req.model, 1, req.seed);
  const a0 = createFusedTrainer(req, data, w, { kernel: JS, batchPath: 'shared' });
  const b0 = createFusedTrainer(req, data, w, { kernel: JS, batchPath: 'per-row' });
  assert.deepEqual(a0.evaluate(data.testX, data.testY, data.nTest), b0.evaluate(data.testX, data.testY, data.nTest));
  assert.deepEqual(a0.predict(data.trainX, data.nTrain), b0.predict(data.trainX, data.nTrain));

  const shared = oneEpoch(req, data, 'shared');
  const perRow = oneEpoch(req, data, 'per-row');
  assertMoved(shared.trainer.getParams(), a0.getParams());
  // The first batch starts from the same weights: its metrics are bitwise the per-row path's;
  // later batches start from weights equal within rounding.
  assert.deepEqual(shared.metrics[0], perRow.metrics[0], 'first batch loss and MAE');
  for (let i = 1; i < shared.metrics.length; i++) {
    assertRelClose(Float64Array.of(shared.metrics[i]!.loss, shared.metrics[i]!.mae), Float64Array.of(perRow.metrics[i]!.loss, perRow.metrics[i]!.mae), `batch ${i} loss, mae`);
  }
  assertRelClose(shared.trainer.getParams(), perRow.trainer.getParams(), 'params after one epoch');
}

describe('shared-trajectory batches (masking on)', () => {
  for (const units of [1, 10, 17]) {
    for (const hard of [false, true]) {
      for (const relu of [true, false]) {
        for (const batchSize of [1, 32]) {
          it(`weights after one epoch equal the per-row path's within 1e-12 relative, first batch's metrics bitwise (units ${units}, ${hard ? 'hard_sigmoid' : 'sigmoid'}, ${relu ? 'relu' : 'linear'}, batch ${batchSize})`, () => {
            compareEpoch({ units, hard, relu, batchSize });
          });
        }
      }
    }
  }

  it('on the seed cell (L=200, N=130, batch 32) the weights after one epoch equal the per-row path\'s within 1e-12 relative', () => {
    compareEpoch({ units: 10, hard: false, relu: true, batchSize: 32, seqLen: 200, nSamples: 130 });
  });

  it('with masking off the shared option trains exactly as the per-row path (the rows do not share a trajectory)', () => {
    const req = request({ units: 10, hard: false, relu: false, batchSize: 32, masking: false });
    const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
    const a = oneEpoch(req, data, 'shared');
    const b = oneEpoch(req, data, 'per-row');
    assert.deepEqual(a.metrics, b.metrics);
    assert.deepEqual(a.trainer.getParams(), b.trainer.getParams());
  });

  it('CONVERGE_KERNEL=js-per-row or wasm-per-row selects the per-row path; unset, js or wasm the shared one', () => {
    assert.equal(batchPathFromEnv({ CONVERGE_KERNEL: 'js-per-row' }), 'per-row');
    assert.equal(batchPathFromEnv({ CONVERGE_KERNEL: 'wasm-per-row' }), 'per-row');
    assert.equal(batchPathFromEnv({}), 'shared');
    assert.equal(batchPathFromEnv({ CONVERGE_KERNEL: 'js' }), 'shared');
    assert.equal(batchPathFromEnv({ CONVERGE_KERNEL: 'wasm' }), 'shared');
  });
});

/**
 * Rows that share a trajectory without being the seed's data: zeros anywhere (a general mask)
 * and an input of 0.7 rather than 1, so the input kernel's gradient is not a count. The shared
 * gradient is checked against the per-row one and against central finite differences.
 */
describe('shared trajectory on general masks', () => {
  const SEQ = 12;
  const V = 0.7;
  const pattern = [
    [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0],
  ];
  const n = pattern.length;
  const x = new Float32Array(n * SEQ);
  pattern.forEach((r, i) => x.set(r.map((b) => b * V), i * SEQ));
  const y = Float32Array.from([0.6, 0.1, 0.9, 0.2, 0.4]);
  const rows = Int32Array.from([2, 0, 4, 3, 1]);

  function makeNet(hard: boolean, relu: boolean): FusedNet {
    const net = new FusedNet({ inputDim: 1, units: 4, seqLen: SEQ, hardSigmoid: hard, masking: true, relu });
    const rng = createRng(11 + (hard ? 1 : 0));
    const scale = hard ? 2.5 : 1.2;
    for (let i = 0; i < net.params.length; i++) net.params[i] = (rng.next() * 2 - 1) * scale;
    net.params[net.layout.denseBias] = 1.5; // relu in its active region on every row (checked)
    syncTransposed(net);
    return net;
  }

  function loss(net: FusedNet): number {
    let s = 0;
    for (const r of rows) {
      const e = predictRow(net, x, r * SEQ) - y[r]!;
      s += e * e;
    }
    return s / n;
  }

  it('rows with other inputs, or with masking off, are refused (null): they take the per-row path', () => {
    const mixed = Float32Array.from(x);
    mixed[SEQ + 1] = 0.5;
    assert.equal(sharedRowsOf(makeNet(false, true), mixed, n), null);
    const off = new FusedNet({ inputDim: 1, units: 4, seqLen: SEQ, hardSigmoid: false, masking: false, relu: true });
    assert.equal(sharedRowsOf(off, x, n), null);
    assert.deepEqual([...sharedRowsOf(makeNet(false, true), x, n)!.steps], [8, 9, 12, 0, 3]);
  });

  for (const hard of [false, true]) {
    it(`the shared gradient equals the per-row gradient within 1e-12 relative and central differences within 1e-6 (${hard ? 'hard_sigmoid' : 'sigmoid'})`, () => {
      const net = makeNet(hard, true);
      for (const r of rows) assert.ok(predictRow(net, x, r * SEQ) > 0, 'relu must be active on every row');
      const s = sharedRowsOf(net, x, n)!;
      const mShared = sharedBatchGradient(net, x, y, rows, s);
      const gShared = net.grad.slice();
      const mPerRow = batchGradient(net, x, y, rows);
      const gPerRow = net.grad.slice();
      assert.deepEqual(mShared, mPerRow);
      assertRelClose(gShared, gPerRow, 'gradient');
      const H = 1e-6;
      for (let i = 0; i < net.params.length; i++) {
        const w = net.params[i]!;
        net.params[i] = w + H;
        syncTransposed(net);
        const up = loss(net);
        net.params[i] = w - H;
        syncTransposed(net);
        const down = loss(net);
        net.params[i] = w;
        syncTransposed(net);
        const num = (up - down) / (2 * H);
        const a = gShared[i]!;
        assert.ok(Math.abs(a - num) <= 1e-6 * Math.max(Math.abs(a), Math.abs(num)) + 1e-9, `param ${i}: shared ${a} vs numeric ${num}`);
      }
    });
  }
});
