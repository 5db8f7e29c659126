import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeDataset, type Dataset } from '../../src/data/sequences';
import { seedRequest } from '../../src/sweep/request';
import type { TrainRequest } from '../../src/train/contract';
import {
  chooseKernel,
  createFusedTrainer,
  jsKernel,
  loadWasmKernel,
  packWeights,
  paramLayout,
  type BatchPath,
  type FusedKernel,
  type KernelNet,
  type NetOptions,
} from '../../src/train/fused';
import { sigmoid as jsSigmoid, tanh as jsTanh } from '../../src/train/fused/activations';
import type { AdamConfig } from '../../src/train/fused/adam';
import type { WasmKernel } from '../../src/train/fused/wasm-kernel';
import { batchesOf, epochOrder, initWeights } from '../../src/train/init';
import { createRng } from '../../src/util/rng';

/**
 * The WebAssembly SIMD kernel against the plain-JS kernels it replaces. Both compute in float64,
 * sum every dot product in the same order and share their sigmoid and tanh operation for
 * operation (src/train/fused/activations.ts), so on the per-row path they must agree bitwise.
 * The shared trajectory sums the same gradient in another order: after one epoch of Adam every
 * parameter agrees within 1e-12 relative, |wasm − js| ≤ 1e-12·max(|wasm|, |js|), elementwise.
 */
const REL = 1e-12;
const SEQ = 40;
const N = SEQ + 1;

function wasmKernel(): WasmKernel {
  const w = loadWasmKernel();
  assert.ok(w.ok, `the wasm kernel must load in the tests: ${w.ok ? '' : w.reason}`);
  return w.kernel as WasmKernel;
}

interface Config {
  units: number;
  hard: boolean;
  masking: boolean;
  relu: boolean;
  batchSize: number;
}

function requestFor(c: Config, seed: number): TrainRequest {
  return seedRequest({
    seqLen: SEQ,
    nSamples: N,
    seed,
    model: {
      units: c.units,
      recurrentActivation: c.hard ? 'hard_sigmoid' : 'sigmoid',
      masking: c.masking,
      outputActivation: c.relu ? 'relu' : 'linear',
    },
    train: { epochs: 1, batchSize: c.batchSize },
  });
}

function optionsFor(req: TrainRequest): NetOptions {
  return {
    inputDim: 1,
    units: req.model.units,
    seqLen: req.seqLen,
    hardSigmoid: req.model.recurrentActivation === 'hard_sigmoid',
    masking: req.model.masking,
    relu: req.model.outputActivation === 'relu',
  };
}

function netFor(kernel: FusedKernel, req: TrainRequest, data: Dataset, path: BatchPath = 'per-row'): KernelNet {
  const net = kernel.createNet(optionsFor(req), data.trainX, data.trainY, path);
  net.setParams(packWeights(paramLayout(1, req.model.units), initWeights(req.model, 1, req.seed)));
  return net;
}

/** The first seed whose relu output is positive on some train row at initialisation (a live run). */
function liveSeed(c: Config): number {
  for (let seed = 1; seed < 100; seed++) {
    const req = requestFor(c, seed);
    const data = makeDataset(SEQ, N, req.testFraction, seed);
    const out = new Float64Array(data.nTrain);
    netFor(jsKernel, req, data).predict(data.trainX, data.nTrain, out);
    if (out.some((v) => v > 0)) return seed;
  }
  throw new Error('no live seed');
}

function assertParamsClose(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    const tol = REL * Math.max(Math.abs(a[i]!), Math.abs(b[i]!));
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: wasm ${a[i]} vs js ${b[i]} (|diff| ${Math.abs(a[i]! - b[i]!)} > ${tol})`);
  }
}

const ADAM: AdamConfig = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

describe('the WebAssembly SIMD kernel against the plain-JS kernels (float64, 1e-12 relative)', () => {
  for (const units of [1, 10, 17]) {
    for (const batchSize of [1, 32]) {
      for (const masking of [true, false]) {
        for (const hard of [false, true]) {
          for (const relu of [true, false]) {
           for (const path of masking ? (['per-row', 'shared'] as const) : (['per-row'] as const)) {
            const c: Config = { units, hard, masking, relu, batchSize };
            const label = `units ${units}, batch ${batchSize}, masking ${masking ? 'on' : 'off'}, ${hard ? 'hard_sigmoid' : 'sigmoid'} gates, ${relu ? 'relu' : 'linear'} output`;
            test(`one epoch on the wasm ${path} path ends with the per-row JS kernel's parameters, losses and predictions (${label})`, () => {
              const seed = relu ? liveSeed(c) : 1;
              const req = requestFor(c, seed);
              const data = makeDataset(SEQ, N, req.testFraction, seed);
              const js = netFor(jsKernel, req, data);
              const wasm = netFor(wasmKernel(), req, data, path);
              assert.equal(wasm.path, path);
              const start = js.getParams();
              let step = 0;
              for (const rows of batchesOf(epochOrder(data.nTrain, 1, seed, true), batchSize)) {
                step++;
                const a = wasm.trainBatch(rows, step, ADAM);
                const b = js.trainBatch(rows, step, ADAM);
                assert.ok(Math.abs(a.loss - b.loss) <= REL * Math.abs(b.loss), `batch ${step} loss: wasm ${a.loss} vs js ${b.loss}`);
                assert.ok(Math.abs(a.mae - b.mae) <= REL * Math.abs(b.mae), `batch ${step} mae: wasm ${a.mae} vs js ${b.mae}`);
              }
              const pj = js.getParams();
              if (path === 'per-row') assert.deepEqual(wasm.getParams(), pj, 'per-row: bitwise equal parameters');
              else {
                // The JS shared path (shared.ts) does the same operations in the same order.
                const jsShared = netFor(jsKernel, req, data, 'shared');
                assert.equal(jsShared.path, 'shared');
                let t = 0;
                for (const rows of batchesOf(epochOrder(data.nTrain, 1, seed, true), batchSize)) jsShared.trainBatch(rows, ++t, ADAM);
                assert.deepEqual(wasm.getParams(), jsShared.getParams(), 'shared: bitwise equal to the JS shared path');
              }
              assertParamsClose(wasm.getParams(), pj, 'parameter');
              // Otherwise the comparison would prove nothing.
              const moved = pj.reduce((m, v, i) => Math.max(m, Math.abs(v - start[i]!)), 0);
              assert.ok(moved > 1e-4, `the parameters moved only ${moved}`);
              const pa = new Float64Array(data.nTest);
              const pb = new Float64Array(data.nTest);
              wasm.predict(data.testX, data.nTest, pa);
              js.predict(data.testX, data.nTest, pb);
              assertParamsClose(pa, pb, 'test prediction');
              assert.equal(wasm.secondMomentsZero(), js.secondMomentsZero());
              const popA = wasm.predictPopulation(new Float64Array(SEQ + 1));
              const popB = js.predictPopulation(new Float64Array(SEQ + 1));
              assertParamsClose(popA, popB, 'population output');
            });
           }
          }
        }
      }
    }
  }

  for (const seqLen of [200, 2000]) {
    test(`population outputs at L=${seqLen} (one shared forward pass) equal every row evaluated on its own, and the row of L zeros gives the dense bias`, () => {
      const req = seedRequest({ seqLen, nSamples: 50, seed: 1 });
      const data = makeDataset(seqLen, 50, req.testFraction, 1);
      const opts = optionsFor(req);
      const p = packWeights(paramLayout(1, 10), initWeights(req.model, 1, 1));
      const lay = paramLayout(1, 10);
      p[lay.denseBias] = 0.05; // so row L's output (relu of the bias) is not trivially 0
      const wasm = wasmKernel().createNet(opts, data.trainX, data.trainY);
      wasm.setParams(p);
      const pop = wasm.predictPopulation(new Float64Array(seqLen + 1));
      // Reference: every population row on its own, on the per-row JS kernel.
      const js = jsKernel.createNet(opts, data.trainX, data.trainY);
      js.setParams(p);
      const rows = new Float32Array((seqLen + 1) * seqLen);
      for (let k = 0; k <= seqLen; k++) rows.fill(1, k * seqLen + k, (k + 1) * seqLen);
      const ref = new Float64Array(seqLen + 1);
      js.predict(rows, seqLen + 1, ref);
      assertParamsClose(pop, ref, 'population output');
      assert.equal(pop[seqLen], 0.05);
      assert.ok(pop.some((v) => v > 0.05), 'the outputs vary with the row');
    });
  }

  test('evaluation of a split on the shared path equals each row on its own, also for a matrix whose rows do not share an input', () => {
    const req = seedRequest({ seqLen: SEQ, nSamples: N, seed: 1 });
    const data = makeDataset(SEQ, N, req.testFraction, 1);
    const shared = netFor(wasmKernel(), req, data, 'shared');
    const perRow = netFor(wasmKernel(), req, data, 'per-row');
    const a = new Float64Array(data.nTrain);
    const b = new Float64Array(data.nTrain);
    shared.predict(data.trainX, data.nTrain, a);
    perRow.predict(data.trainX, data.nTrain, b);
    assert.deepEqual(a, b);
    const before = a[0]!;
    const mixed = data.trainX.slice();
    mixed[SEQ - 1] = 0.5; // row 0 ends on another input: no shared trajectory for this matrix
    shared.predict(mixed, data.nTrain, a);
    perRow.predict(mixed, data.nTrain, b);
    assert.deepEqual(a, b);
    assert.notEqual(a[0], before, 'the changed input must change row 0');
  });

  test('the per-row gradient is bitwise equal on rows with zeros inside, inputs other than 1 and an all-zero row (general masking path)', () => {
    const rows = [
      [0, 0, 0, 0, 0.5, 1, 1, 0.8, 1, 1, 1, 1],
      [0.3, 1, 0, 0, 1, 0.7, 0, 1, 1, 0.9, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.6],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    const seq = rows[0]!.length;
    const x = new Float32Array(rows.length * seq);
    rows.forEach((r, i) => x.set(r, i * seq));
    const y = Float32Array.from([0.6, 0.1, 0.9, 0.2]);
    for (const units of [3, 4]) {
      for (const masking of [true, false]) {
        for (const hard of [false, true]) {
          const opts: NetOptions = { inputDim: 1, units, seqLen: seq, hardSigmoid: hard, masking, relu: true };
          const rng = createRng(11 + units);
          const p = Float64Array.from({ length: paramLayout(1, units).size }, () => (rng.next() * 2 - 1) * (hard ? 2.5 : 1.2));
          p[paramLayout(1, units).denseBias] = 1.5;
          const js = jsKernel.createNet(opts, x, y);
          const wasm = wasmKernel().createNet(opts, x, y, 'per-row');
          js.setParams(p);
          wasm.setParams(p);
          const all = Int32Array.from({ length: rows.length }, (_, i) => i);
          const a = wasm.batchGradient(all);
          const b = js.batchGradient(all);
          assert.ok(Math.abs(a.loss - b.loss) <= REL * b.loss);
          const ga = wasm.getGradient();
          const gb = js.getGradient();
          assert.ok(gb.some((v) => v !== 0));
          assert.deepEqual(ga, gb, `units ${units}, masking ${masking}, hard ${hard}: bitwise equal gradients`);
        }
      }
    }
  });

  test("the kernel's sigmoid and tanh are bitwise the JS kernels', within 4 ulp of 1/(1+Math.exp(−x)) and Math.tanh, and keep NaN, ±0 and the limits", () => {
    const { sigmoid, tanh } = wasmKernel().approximations();
    for (const x of [0, -0, 1e-300, -1e-20, 0.3, -0.3466, 0.5, 1, -2.5, 10, -19.9, 20, 36.7, -300, 708.5, -709.5, -709.79, 1e308, NaN, Infinity, -Infinity]) {
      assert.ok(Object.is(sigmoid(x), jsSigmoid(x)), `sigmoid(${x}): wasm ${sigmoid(x)} vs js ${jsSigmoid(x)}`);
      assert.ok(Object.is(tanh(x), jsTanh(x)), `tanh(${x}): wasm ${tanh(x)} vs js ${jsTanh(x)}`);
    }
    const ulps = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Number.EPSILON * Math.abs(b), Number.MIN_VALUE));
    const rng = createRng(5);
    let worstS = 0;
    let worstT = 0;
    for (let i = 0; i < 100_000; i++) {
      // Log-uniform magnitudes from 1e-8 to 700, both signs.
      const x = (rng.next() < 0.5 ? -1 : 1) * Math.exp(Math.log(1e-8) + rng.next() * (Math.log(700) - Math.log(1e-8)));
      worstS = Math.max(worstS, ulps(sigmoid(x), 1 / (1 + Math.exp(-x))));
      worstT = Math.max(worstT, ulps(tanh(x), Math.tanh(x)));
      if (!Object.is(sigmoid(x), jsSigmoid(x)) || !Object.is(tanh(x), jsTanh(x))) assert.fail(`wasm and js differ at x = ${x}`);
    }
    assert.ok(worstS <= 4, `sigmoid: ${worstS} ulp`);
    assert.ok(worstT <= 4, `tanh: ${worstT} ulp`);
    assert.ok(Number.isNaN(sigmoid(NaN)) && Number.isNaN(tanh(NaN)));
    assert.ok(Object.is(tanh(-0), -0) && Object.is(tanh(0), 0));
    assert.equal(sigmoid(Infinity), 1);
    assert.equal(sigmoid(-Infinity), 0);
    assert.equal(sigmoid(-720), 0);
    assert.equal(tanh(Infinity), 1);
    assert.equal(tanh(-Infinity), -1);
  });

  test('the trainer runs on the wasm kernel by default and records it; CONVERGE_KERNEL=js selects the JS kernel', () => {
    assert.equal(chooseKernel({}).kernel.backend, 'fused-wasm-simd');
    assert.equal(chooseKernel({ CONVERGE_KERNEL: 'wasm' }).kernel.backend, 'fused-wasm-simd');
    assert.equal(chooseKernel({ CONVERGE_KERNEL: 'js' }).kernel.backend, 'fused-js');
    assert.throws(() => chooseKernel({ CONVERGE_KERNEL: 'gpu' }), (e: { code?: string; message?: string }) => e.code === 'train.unknownKernel' && /expected one of wasm, wasm-per-row, js, js-per-row, got 'gpu'/.test(e.message ?? ''));
    const req = seedRequest({ seqLen: SEQ, nSamples: N, seed: 1 });
    const data = makeDataset(SEQ, N, req.testFraction, 1);
    const t = createFusedTrainer(req, data, initWeights(req.model, 1, 1), { kernel: chooseKernel({ CONVERGE_KERNEL: 'js' }) });
    assert.equal(t.backend, 'fused-js');
    assert.equal(t.notice, undefined);
    const w = createFusedTrainer(req, data, initWeights(req.model, 1, 1), { kernel: chooseKernel({}) });
    assert.equal(w.backend, 'fused-wasm-simd');
  });

  test('a batch naming a row outside the train split is refused before it reaches linear memory', () => {
    const req = seedRequest({ seqLen: SEQ, nSamples: N, seed: 1 });
    const data = makeDataset(SEQ, N, req.testFraction, 1);
    const net = netFor(wasmKernel(), req, data);
    assert.throws(() => net.trainBatch(Int32Array.of(data.nTrain), 1, ADAM), (e: { code?: string }) => e.code === 'train.badBatch');
    assert.throws(() => net.trainBatch(Int32Array.of(-1), 1, ADAM), (e: { code?: string }) => e.code === 'train.badBatch');
  });
});
