/**
 * The seed experiment's LSTM (a Data Science Stack Exchange answer's Keras model:
 * Masking(0) → LSTM(10, orthogonal(gain=0.01) kernel) → Dense(1, relu), Adam, mse, batch 1) written
 * as a converge module trainer against @tensorflow/tfjs-layers, the way a user would bring their
 * own TF.js model:
 *
 *     trainer: {module: ./lstm.mjs}
 *
 * It reports the metrics converge's built-in engine records (loss, mae, val_loss, val_mae,
 * pop_loss, pop_mae, unseen_mae, pop_max_output) and, for the same parameters and seed, the same
 * values as the built-in `engine: tfjs` within 1e-6 (test/examples/lstm-tfjs.test.ts): proof that
 * the module path records exactly what a trainer reports.
 *
 * Why it imports converge's own code (from dist/, so `npm run build` first): to be comparable
 * number for number with the built-in engine it must train on the same rows, start from the same
 * weights and visit the rows in the same order, and those come from converge's seeded generators
 * (tfjs draws its own initial weights and shuffles with Math.random, which cannot be seeded).
 * A trainer of your own needs none of this.
 */
import { createRequire } from 'node:module';
import { makeDataset, populationTargets, populationX } from '../../dist/src/data/sequences.js';
import { batchesOf, epochOrder, initWeights } from '../../dist/src/train/init.js';

const require = createRequire(import.meta.url);

/** The built-in parameters this model uses, under the same names, types and defaults. */
export const params = {
  seq_len: { type: 'integer', min: 1 },
  n_samples: { type: 'integer', min: 1 },
  test_fraction: { type: 'number', default: 0.1, min: 0, max: 0.9 },
  units: { type: 'integer', default: 10, min: 1 },
  recurrent_activation: { type: 'string', values: ['sigmoid', 'hard_sigmoid'], default: 'sigmoid' },
  kernel_initializer: { type: 'string', values: ['orthogonal', 'glorot_uniform', 'glorot_normal'], default: 'orthogonal' },
  kernel_gain: { type: 'number', default: 0.01, min: 0 },
  recurrent_initializer: { type: 'string', values: ['orthogonal', 'glorot_uniform', 'glorot_normal'], default: 'orthogonal' },
  recurrent_gain: { type: 'number', default: 1, min: 0 },
  unit_forget_bias: { type: 'boolean', default: true },
  masking: { type: 'boolean', default: true },
  output_activation: { type: 'string', values: ['relu', 'linear'], default: 'relu' },
  epochs: { type: 'integer', default: 50, min: 1 },
  batch_size: { type: 'integer', default: 1, min: 1 },
  learning_rate: { type: 'number', default: 0.001, min: 0 },
  beta_1: { type: 'number', default: 0.9, min: 0, max: 1 },
  beta_2: { type: 'number', default: 0.999, min: 0, max: 1 },
  epsilon: { type: 'number', default: 1e-7, min: 0 },
  shuffle: { type: 'boolean', default: true },
};

export const metrics = {
  loss: 'below',
  mae: 'below',
  val_loss: 'below',
  val_mae: 'below',
  pop_loss: 'below',
  pop_mae: 'below',
  unseen_mae: 'below',
};

/** TF.js with tfjs-node when it loads (as converge does), else the pure-JS cpu backend. */
async function loadTf() {
  try {
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    const tf = require('@tensorflow/tfjs-node');
    await tf.ready();
    if (tf.getBackend() === 'tensorflow') return tf;
  } catch {
    // Not installed (it is optional) or its native binding failed: the cpu backend below.
  }
  require('@tensorflow/tfjs-backend-cpu');
  const tf = { ...require('@tensorflow/tfjs-core'), ...require('@tensorflow/tfjs-layers') };
  if (!(await tf.setBackend('cpu'))) throw new Error('TF.js could not initialise its cpu backend');
  await tf.ready();
  return tf;
}

export async function train(p, ctx) {
  const tf = await loadTf();
  const L = p.seq_len;
  const data = makeDataset(L, p.n_samples, p.test_fraction, ctx.seed);
  const w = initWeights(
    {
      units: p.units,
      kernelInitializer: p.kernel_initializer,
      kernelGain: p.kernel_gain,
      recurrentInitializer: p.recurrent_initializer,
      recurrentGain: p.recurrent_gain,
      unitForgetBias: p.unit_forget_bias,
    },
    1,
    ctx.seed,
  );

  const model = tf.sequential();
  const lstm = tf.layers.lstm({
    units: p.units,
    activation: 'tanh',
    // Keras 2.3's defaults, which tfjs does not share: sigmoid gates, forget-gate bias 1.
    recurrentActivation: p.recurrent_activation === 'hard_sigmoid' ? 'hardSigmoid' : 'sigmoid',
    unitForgetBias: p.unit_forget_bias,
    // The real initial values are set below; zeros skip tfjs's own (unseeded) draws.
    kernelInitializer: 'zeros',
    recurrentInitializer: 'zeros',
    biasInitializer: 'zeros',
    ...(p.masking ? {} : { inputShape: [L, 1] }),
  });
  const dense = tf.layers.dense({ units: 1, activation: p.output_activation, kernelInitializer: 'zeros', biasInitializer: 'zeros' });
  // Built inside tidy: tfjs-layers 4.22's unitForgetBias initializer leaks its temporaries.
  tf.tidy(() => {
    if (p.masking) model.add(tf.layers.masking({ maskValue: 0, inputShape: [L, 1] }));
    model.add(lstm);
    model.add(dense);
    lstm.setWeights([tf.tensor2d(w.kernel.slice(), [1, 4 * p.units]), tf.tensor2d(w.recurrentKernel.slice(), [p.units, 4 * p.units]), tf.tensor1d(w.bias.slice())]);
    dense.setWeights([tf.tensor2d(w.denseKernel.slice(), [p.units, 1]), tf.tensor1d(w.denseBias.slice())]);
  });
  const optimizer = tf.train.adam(p.learning_rate, p.beta_1, p.beta_2, p.epsilon);
  const vars = model.trainableWeights.map((v) => v.read());
  const forward = (x, n, training) => model.apply(tf.tensor3d(x.slice(0, n * L), [n, L, 1]), { training });

  /** One Adam step on some train rows; the loss and MAE of the forward pass before it (as Keras reports them). */
  const trainBatch = (rows) => {
    const b = rows.length;
    const xs = new Float32Array(b * L);
    const ys = new Float32Array(b);
    rows.forEach((r, i) => {
      xs.set(data.trainX.subarray(r * L, (r + 1) * L), i * L);
      ys[i] = data.trainY[r];
    });
    const kept = {};
    const lossT = tf.tidy(() => {
      const y = tf.tensor2d(ys, [b, 1]);
      return optimizer.minimize(
        () => {
          const err = tf.sub(forward(xs, b, true), y);
          kept.mae = tf.keep(tf.mean(tf.abs(err)));
          return tf.mean(tf.square(err));
        },
        true,
        vars,
      );
    });
    try {
      return { loss: lossT.dataSync()[0], mae: kept.mae.dataSync()[0] };
    } finally {
      lossT.dispose();
      kept.mae.dispose();
    }
  };

  const evaluate = (x, y, n) => {
    const out = tf.tidy(() => {
      const err = tf.sub(forward(x, n, false), tf.tensor2d(y.slice(0, n), [n, 1]));
      return tf.stack([tf.mean(tf.square(err)), tf.mean(tf.abs(err))]);
    });
    try {
      const [loss, mae] = out.dataSync();
      return { loss, mae };
    } finally {
      out.dispose();
    }
  };

  // The whole input space: all L+1 rows (k leading zeros, then ones), scored after every epoch.
  const popX = populationX(L);
  const targets = populationTargets(L);
  const population = () => {
    const out = tf.tidy(() => forward(popX, L + 1, false));
    const o = Float64Array.from(out.dataSync());
    out.dispose();
    let loss = 0;
    let mae = 0;
    let max = -Infinity;
    for (let k = 0; k <= L; k++) {
      const err = o[k] - targets[k];
      loss += err * err;
      mae += Math.abs(err);
      if (o[k] > max || Number.isNaN(o[k])) max = o[k];
    }
    const m = { pop_loss: loss / (L + 1), pop_mae: mae / (L + 1), pop_max_output: max };
    // Over the rows this run never drew (none when n_samples = seq_len + 1).
    if (data.rowsUnused.length > 0) {
      let s = 0;
      for (const k of data.rowsUnused) s += Math.abs(o[k] - targets[k]);
      m.unseen_mae = s / data.rowsUnused.length;
    }
    return m;
  };

  try {
    for (let epoch = 1; epoch <= p.epochs; epoch++) {
      let lossSum = 0;
      let maeSum = 0;
      for (const rows of batchesOf(epochOrder(data.nTrain, epoch, ctx.seed, p.shuffle), p.batch_size)) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
        const b = trainBatch(rows);
        lossSum += b.loss * rows.length;
        maeSum += b.mae * rows.length;
      }
      const m = { loss: lossSum / data.nTrain, mae: maeSum / data.nTrain };
      // No validation split (test_fraction 0): nothing to report, rather than a mean of nothing.
      if (data.nTest > 0) {
        const val = evaluate(data.testX, data.testY, data.nTest);
        m.val_loss = val.loss;
        m.val_mae = val.mae;
      }
      Object.assign(m, population());
      ctx.report(epoch, m);
      // NaN or Inf: converge records the run as diverged at this epoch; training on is pointless.
      if (!Object.values(m).every(Number.isFinite)) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
