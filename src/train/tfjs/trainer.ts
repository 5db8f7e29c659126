import type { AdamOptimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import type { Sequential } from '@tensorflow/tfjs-layers';
import { populationX, type Dataset } from '../../data/sequences';
import { ConvergeError } from '../../errors';
import type { BatchMetrics, Evaluation, LstmWeights, Trainer, TrainRequest } from '../contract';
import type { Tf } from './backend';

/** The Trainer plus a raw forward pass (tests, population evaluation). */
export interface TfjsTrainer extends Trainer {
  /** Model outputs for `n` rows of x ([n, seqLen]). */
  predict(x: Float32Array, n: number): Float32Array;
}

/**
 * The reference engine: the seed model built from tfjs-layers, Keras 2.3 semantics.
 * Facts this relies on (checked against tfjs-layers 4.22 source):
 * - LSTMCell weights are [kernel [in, 4u], recurrent_kernel [u, 4u], bias [4u]], gates split
 *   i, f, c, o along the last axis: the Keras layout, so LstmWeights map 1:1.
 * - tfjs 'hardSigmoid' is clip(0.2·x + 0.5, 0, 1), the Keras 2.x hard_sigmoid.
 * - With a mask, rnn() computes every step and keeps the previous output/state where the mask
 *   is 0 (out = new·m + prev·(1-m)); with m ∈ {0,1} this is exact, so a leading run of zeros
 *   leaves the zero initial state untouched.
 */
export function createTfjsTrainer(
  tf: Tf,
  backend: string,
  req: TrainRequest,
  data: Dataset,
  weights: LstmWeights,
): TfjsTrainer {
  const seqLen = data.seqLen;
  const units = req.model.units;
  if (weights.units !== units || weights.inputDim !== 1) {
    throw new ConvergeError(
      'train.badWeights',
      `weights are for units=${weights.units}, inputDim=${weights.inputDim}; the model needs units=${units}, inputDim=1`,
    );
  }

  const model: Sequential = tf.sequential();
  let optimizer: AdamOptimizer | undefined;
  try {
    const inputShape = [seqLen, 1];
    const lstm = tf.layers.lstm({
      units,
      activation: 'tanh',
      // Both set explicitly: tfjs defaults are hardSigmoid and no forget bias, unlike Keras 2.3.
      recurrentActivation: req.model.recurrentActivation === 'hard_sigmoid' ? 'hardSigmoid' : 'sigmoid',
      unitForgetBias: req.model.unitForgetBias,
      // Real initial values come from initWeights (one seeded stream for both engines); zeros
      // skip tfjs's own unseeded random draws.
      kernelInitializer: 'zeros',
      recurrentInitializer: 'zeros',
      biasInitializer: 'zeros',
      ...(req.model.masking ? {} : { inputShape }),
    });
    const dense = tf.layers.dense({
      units: 1,
      activation: req.model.outputActivation === 'relu' ? 'relu' : 'linear',
      kernelInitializer: 'zeros',
      biasInitializer: 'zeros',
    });
    // Layers build (and create their variables) inside tidy because tfjs-layers 4.22's
    // unitForgetBias initializer leaks its 4 intermediate tensors; variables survive a tidy.
    tf.tidy(() => {
      if (req.model.masking) model.add(tf.layers.masking({ maskValue: 0, inputShape }));
      model.add(lstm);
      model.add(dense);
      // tf.tensor keeps a reference to a Float32Array on the cpu backend, so hand it copies.
      lstm.setWeights([
        tf.tensor2d(weights.kernel.slice(), [1, 4 * units]),
        tf.tensor2d(weights.recurrentKernel.slice(), [units, 4 * units]),
        tf.tensor1d(weights.bias.slice()),
      ]);
      dense.setWeights([tf.tensor2d(weights.denseKernel.slice(), [units, 1]), tf.tensor1d(weights.denseBias.slice())]);
    });

    optimizer = tf.train.adam(req.train.learningRate, req.train.beta1, req.train.beta2, req.train.epsilon);
    // Explicit list, as tfjs-layers' own fit does: the default (every trainable variable in
    // the engine) would also pick up other models alive in this thread.
    const vars = model.trainableWeights.map((w) => w.read() as Variable);
    const opt = optimizer;

    let disposed = false;
    const alive = (): void => {
      if (disposed) throw new Error('tfjs trainer used after dispose()');
    };

    let popX: Float32Array | undefined;
    const forward = (x: Float32Array, n: number, training: boolean): Tensor => {
      const xs = tf.tensor3d(x.slice(0, n * seqLen), [n, seqLen, 1]);
      return model.apply(xs, { training }) as Tensor;
    };

    return {
      backend,

      trainBatch(rows: Int32Array): BatchMetrics {
        alive();
        const b = rows.length;
        const xs = new Float32Array(b * seqLen);
        const ys = new Float32Array(b);
        for (let i = 0; i < b; i++) {
          const r = rows[i]!;
          xs.set(data.trainX.subarray(r * seqLen, (r + 1) * seqLen), i * seqLen);
          ys[i] = data.trainY[r]!;
        }
        // minimize(f, returnCost) evaluates f, takes gradients and only then updates, so the
        // returned cost is the pre-update loss Keras reports; MAE is kept from that same pass.
        const kept: { mae?: Scalar } = {};
        const lossT = tf.tidy(() => {
          const y = tf.tensor2d(ys, [b, 1]);
          return opt.minimize(
            () => {
              const err = tf.sub(forward(xs, b, true), y);
              kept.mae = tf.keep(tf.mean(tf.abs(err)) as Scalar);
              return tf.mean(tf.square(err)) as Scalar;
            },
            true,
            vars,
          ) as Scalar;
        });
        try {
          return { loss: lossT.dataSync()[0]!, mae: kept.mae!.dataSync()[0]! };
        } finally {
          lossT.dispose();
          kept.mae?.dispose();
        }
      },

      evaluate(x: Float32Array, y: Float32Array, n: number): Evaluation {
        alive();
        if (n < 1) throw new ConvergeError('train.emptyEvaluation', 'evaluate() needs at least one row');
        const out = tf.tidy(() => {
          const pred = forward(x, n, false);
          const err = tf.sub(pred, tf.tensor2d(y.slice(0, n), [n, 1]));
          return tf.stack([tf.mean(tf.square(err)), tf.mean(tf.abs(err)), tf.max(pred)]);
        });
        try {
          const v = out.dataSync();
          return { loss: v[0]!, mae: v[1]!, maxOutput: v[2]! };
        } finally {
          out.dispose();
        }
      },

      predictPopulation(): Float64Array {
        // The reference computes every row on its own (one batch of L+1 rows).
        alive();
        popX ??= populationX(seqLen);
        const out = tf.tidy(() => forward(popX!, seqLen + 1, false));
        try {
          return Float64Array.from(out.dataSync());
        } finally {
          out.dispose();
        }
      },

      predict(x: Float32Array, n: number): Float32Array {
        alive();
        const out = tf.tidy(() => forward(x, n, false));
        try {
          return Float32Array.from(out.dataSync());
        } finally {
          out.dispose();
        }
      },

      getWeights(): LstmWeights {
        alive();
        // dataSync() on the cpu backend returns the variable's own buffer: copy it.
        const copy = (t: Tensor): Float32Array => Float32Array.from(t.dataSync());
        const [k, rk, bias] = lstm.getWeights();
        const [dk, db] = dense.getWeights();
        if (!k || !rk || !bias || !dk || !db) throw new Error('tfjs model is missing a weight');
        return {
          inputDim: 1,
          units,
          kernel: copy(k),
          recurrentKernel: copy(rk),
          bias: copy(bias),
          denseKernel: copy(dk),
          denseBias: copy(db),
        };
      },

      dispose(): void {
        if (disposed) return;
        disposed = true;
        opt.dispose();
        model.dispose();
      },
    };
  } catch (e) {
    optimizer?.dispose();
    try {
      model.dispose();
    } catch {
      // A half-built model may refuse dispose(); the original error matters more.
    }
    throw e;
  }
}
