import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { makeDataset } from '../../src/data/sequences';
import type { EpochMetrics, LstmWeights, ModelConfig, TrainConfig, TrainRequest } from '../../src/train/contract';
import { initWeights } from '../../src/train/init';
import { createTfjsTrainer, loadTf, tfjsEngine, type TfjsTrainer } from '../../src/train/tfjs';
import { createRng } from '../../src/util/rng';
import { seedRequest } from '../../src/sweep/request';

type Overrides = Partial<Omit<TrainRequest, 'model' | 'train'>> & {
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
};

/** The seed experiment's model and Adam defaults, at a size tfjs cpu trains in well under a second. */
function request(overrides: Overrides = {}): TrainRequest {
  const { model, train, ...top } = overrides;
  const base = seedRequest({ engine: 'tfjs', seqLen: 12, nSamples: 13, testFraction: 0.2, seed: 7, model, train: { epochs: 3, ...train } });
  return { ...base, ...top };
}

async function runMetrics(req: TrainRequest): Promise<EpochMetrics[]> {
  const out: EpochMetrics[] = [];
  await tfjsEngine.train(req, { onEpoch: (m) => out.push(m) });
  return out;
}

async function trainerFor(req: TrainRequest, weights?: LstmWeights): Promise<TfjsTrainer> {
  const { tf, backend } = await loadTf();
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  return createTfjsTrainer(tf, backend, req, data, weights ?? initWeights(req.model, 1, req.seed));
}

/** Arbitrary non-zero weights (every gate and both biases matter) drawn from a fixed seed. */
function arbitraryWeights(units: number, denseBias: number): LstmWeights {
  const rng = createRng(12345);
  const draw = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  return {
    inputDim: 1,
    units,
    kernel: draw(4 * units),
    recurrentKernel: draw(units * 4 * units),
    bias: draw(4 * units),
    denseKernel: draw(units),
    denseBias: Float32Array.of(denseBias),
  };
}

/** Keras 2.3 LSTM → Dense forward pass for one row, in float64, written from the Keras source. */
function referenceForward(w: LstmWeights, row: number[], m: ModelConfig): number {
  const u = w.units;
  const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
  const hardSigmoid = (z: number): number => Math.min(1, Math.max(0, 0.2 * z + 0.5));
  const gate = m.recurrentActivation === 'sigmoid' ? sigmoid : hardSigmoid;
  let h = new Array<number>(u).fill(0);
  let c = new Array<number>(u).fill(0);
  for (const x of row) {
    // Masking(0): a masked step leaves h and c exactly as they were.
    if (m.masking && x === 0) continue;
    const z = new Array<number>(4 * u);
    for (let j = 0; j < 4 * u; j++) {
      let s = x * w.kernel[j]! + w.bias[j]!;
      for (let k = 0; k < u; k++) s += h[k]! * w.recurrentKernel[k * 4 * u + j]!;
      z[j] = s;
    }
    const nh = new Array<number>(u);
    const nc = new Array<number>(u);
    for (let k = 0; k < u; k++) {
      const i = gate(z[k]!);
      const f = gate(z[u + k]!);
      const g = Math.tanh(z[2 * u + k]!);
      const o = gate(z[3 * u + k]!);
      nc[k] = f * c[k]! + i * g;
      nh[k] = o * Math.tanh(nc[k]!);
    }
    h = nh;
    c = nc;
  }
  let y = w.denseBias[0]!;
  for (let k = 0; k < u; k++) y += h[k]! * w.denseKernel[k]!;
  return m.outputActivation === 'relu' ? Math.max(0, y) : y;
}

function withoutSeconds(ms: EpochMetrics[]): Omit<EpochMetrics, 'seconds'>[] {
  return ms.map(({ seconds: _s, ...rest }) => rest);
}

test('the same request run twice gives identical per-epoch metrics', async () => {
  const req = request();
  const a = await runMetrics(req);
  const b = await runMetrics(req);
  assert.equal(a.length, req.train.epochs);
  assert.deepEqual(withoutSeconds(a), withoutSeconds(b));
  for (const m of a) assert.ok([m.loss, m.mae, m.valLoss, m.valMae].every(Number.isFinite));
});

test('a different seed gives different metrics', async () => {
  const a = await runMetrics(request({ train: { epochs: 1 } }));
  const b = await runMetrics(request({ seed: 8, train: { epochs: 1 } }));
  assert.notDeepEqual(withoutSeconds(a), withoutSeconds(b));
});

test('a whole run leaves the number of live tensors where it was', async () => {
  const { tf } = await loadTf();
  const baseline = tf.memory().numTensors;
  await runMetrics(request({ train: { epochs: 2, batchSize: 4 } }));
  assert.equal(tf.memory().numTensors, baseline);
  await runMetrics(request({ model: { masking: false, unitForgetBias: true, outputActivation: 'linear' } }));
  assert.equal(tf.memory().numTensors, baseline);
});

test('an aborted run rejects with an AbortError and still frees its tensors', async () => {
  const { tf } = await loadTf();
  const baseline = tf.memory().numTensors;
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(tfjsEngine.train(request(), { onEpoch: () => {}, signal: ac.signal }), { name: 'AbortError' });
  assert.equal(tf.memory().numTensors, baseline);
});

test('the model holds exactly the weights drawn by initWeights before training', async () => {
  const req = request();
  const trainer = await trainerFor(req);
  try {
    assert.deepEqual(trainer.getWeights(), initWeights(req.model, 1, req.seed));
  } finally {
    trainer.dispose();
  }
});

test('the forget-gate bias read back from the tf model starts at 1 and the other gates at 0', async () => {
  const u = 10;
  const trainer = await trainerFor(request({ model: { units: u, unitForgetBias: true } }));
  try {
    const bias = trainer.getWeights().bias;
    assert.equal(bias.length, 4 * u);
    bias.forEach((v, j) => assert.equal(v, j >= u && j < 2 * u ? 1 : 0, `bias[${j}]`));
  } finally {
    trainer.dispose();
  }
  const off = await trainerFor(request({ model: { units: u, unitForgetBias: false } }));
  try {
    assert.ok(off.getWeights().bias.every((v) => v === 0));
  } finally {
    off.dispose();
  }
});

test('with masking, a row of zeros outputs relu(dense bias) exactly', async () => {
  const req = request({ seqLen: 8, nSamples: 9 });
  const zeros = new Float32Array(req.seqLen);
  for (const denseBias of [0.3, -0.2]) {
    const w = arbitraryWeights(req.model.units, denseBias);
    const masked = await trainerFor(req, w);
    const unmasked = await trainerFor(request({ seqLen: 8, nSamples: 9, model: { masking: false } }), w);
    try {
      const out = masked.predict(zeros, 1)[0]!;
      assert.equal(out, Math.max(0, Math.fround(denseBias)));
      // Without the mask the zero steps do move the state (the biases are non-zero here),
      // so the equality above is the mask's doing, not a coincidence of the weights.
      if (denseBias > 0) assert.notEqual(unmasked.predict(zeros, 1)[0], out);
    } finally {
      masked.dispose();
      unmasked.dispose();
    }
  }
});

test('one forward pass of a tiny model matches a plain-JS Keras LSTM within 1e-6', async () => {
  const rows = [
    [1, 1, 1],
    [0, 1, 1],
    [0, 0, 1],
    [0, 0, 0],
    [0.5, -1, 2],
    [0, 2, 0],
  ];
  const x = Float32Array.from(rows.flat());
  for (const recurrentActivation of ['sigmoid', 'hard_sigmoid'] as const) {
    for (const masking of [true, false]) {
      const req = request({
        seqLen: 3,
        nSamples: 4,
        testFraction: 0.25,
        model: { units: 2, recurrentActivation, masking, outputActivation: 'linear' },
      });
      const w = arbitraryWeights(2, 0.1);
      const trainer = await trainerFor(req, w);
      try {
        const got = trainer.predict(x, rows.length);
        rows.forEach((row, i) => {
          const want = referenceForward(w, row, req.model);
          const diff = Math.abs(got[i]! - want);
          assert.ok(diff < 1e-6, `${recurrentActivation} masking=${masking} row ${row}: tfjs ${got[i]} vs ${want}`);
        });
      } finally {
        trainer.dispose();
      }
    }
  }
});

test('trainBatch reports the loss of the forward pass before its Adam step', async () => {
  // Linear output: a relu that happens to be 0 at init for this row would get no gradient.
  const req = request({ model: { outputActivation: 'linear' } });
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const trainer = await trainerFor(req);
  try {
    const r = 3;
    const x = data.trainX.slice(r * req.seqLen, (r + 1) * req.seqLen);
    const y = data.trainY.slice(r, r + 1);
    const before = trainer.evaluate(x, y, 1);
    const step = trainer.trainBatch(Int32Array.of(r));
    const after = trainer.evaluate(x, y, 1);
    assert.equal(step.loss, before.loss);
    assert.equal(step.mae, before.mae);
    assert.notEqual(after.loss, before.loss);
  } finally {
    trainer.dispose();
  }
});

test('the backend is recorded as a non-empty string, cpu when tfjs-node is not installed', async () => {
  let nodeInstalled = true;
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    nodeInstalled = false;
  }
  const loaded = await loadTf();
  const summary = await tfjsEngine.train(request({ train: { epochs: 1 } }), { onEpoch: () => {} });
  assert.equal(typeof summary.backend, 'string');
  assert.ok(summary.backend.length > 0);
  assert.equal(summary.backend, loaded.backend);
  assert.equal(summary.backend, nodeInstalled ? 'tensorflow' : 'cpu');
  if (!nodeInstalled) assert.match(loaded.fallbackReason ?? '', /tfjs-node/);
});

test('loading TF.js prints nothing, not even the install-tfjs-node hint', () => {
  const index = path.join(__dirname, '../../src/train/tfjs/index.js');
  const script = `require(${JSON.stringify(index)}).loadTf().then(({ tf }) => tf.square(tf.tensor([1, 2])).dataSync())`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout, '');
  assert.equal(res.stderr, '');
});
