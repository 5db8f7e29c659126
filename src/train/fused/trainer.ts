import type { Dataset } from '../../data/sequences';
import { ConvergeError } from '../../errors';
import type { BatchMetrics, Evaluation, LstmWeights, Trainer, TrainRequest } from '../contract';
import { adamStep, type AdamConfig } from './adam';
import { batchGradient } from './backward';
import { FusedNet, predictRow, syncTransposed } from './forward';
import { populationOutputs } from './population';
import { sharedBatchGradient, sharedEvaluate, sharedPredict, sharedRowsOf, type SharedRows } from './shared';

/** The Trainer plus a raw forward pass (tests, population evaluation), like TfjsTrainer. */
export interface FusedTrainer extends Trainer {
  /** Model outputs for `n` rows of x ([n, seqLen]). */
  predict(x: Float32Array, n: number): Float32Array;
  /** A copy of the float64 parameters, packed as ParamLayout (forward.ts): for exact comparisons. */
  getParams(): Float64Array;
}

/**
 * How a batch is computed. `shared`: with masking on, all rows of a batch (and of an evaluation)
 * run one hidden-state trajectory (shared.ts); with masking off, or inputs that do not share a
 * trajectory, it falls back to `per-row`. `per-row`: every row forward and backward on its own
 * (backward.ts batchGradient), the reference the shared path is tested against.
 */
export type BatchPath = 'shared' | 'per-row';

export interface FusedTrainerOptions {
  /**
   * @default 'per-row' when the environment has CONVERGE_KERNEL=js-per-row, else 'shared'
   */
  batchPath?: BatchPath;
}

/**
 * The batch path the environment asks for: CONVERGE_KERNEL=js-per-row selects the per-row
 * reference path (for comparisons and benchmarks through `converge run`); anything else the
 * shared one. The variable's other values choose the kernel, not the path.
 */
export function batchPathFromEnv(env: NodeJS.ProcessEnv = process.env): BatchPath {
  return env.CONVERGE_KERNEL === 'js-per-row' ? 'per-row' : 'shared';
}

/**
 * The glue between the shared epoch loop and the fused kernels: owns one FusedNet (parameters
 * and every buffer, allocated here once) and the Adam moments. Nothing is allocated per batch
 * except the returned metrics object.
 */
export function createFusedTrainer(req: TrainRequest, data: Dataset, weights: LstmWeights, options: FusedTrainerOptions = {}): FusedTrainer {
  const units = req.model.units;
  if (weights.units !== units || weights.inputDim !== 1) {
    throw new ConvergeError(
      'train.badWeights',
      `weights are for units=${weights.units}, inputDim=${weights.inputDim}; the model needs units=${units}, inputDim=1`,
    );
  }
  const net = new FusedNet({
    inputDim: 1,
    units,
    seqLen: data.seqLen,
    hardSigmoid: req.model.recurrentActivation === 'hard_sigmoid',
    masking: req.model.masking,
    relu: req.model.outputActivation === 'relu',
  });
  setWeights(net, weights);
  const m = new Float64Array(net.layout.size);
  const v = new Float64Array(net.layout.size);
  const adam: AdamConfig = {
    learningRate: req.train.learningRate,
    beta1: req.train.beta1,
    beta2: req.train.beta2,
    epsilon: req.train.epsilon,
  };
  let step = 0;
  const L = data.seqLen;
  const shared = (options.batchPath ?? batchPathFromEnv()) === 'shared';
  // Which rows share a trajectory is a property of the input matrix: the train and test splits
  // are the same arrays every epoch (never written after makeDataset), so they are checked once;
  // any other matrix (predict/evaluate from tests) is checked on each call.
  const splits = new Map<Float32Array, SharedRows | null>();
  const sharedRows = (x: Float32Array, n: number): SharedRows | null => {
    if (!shared || !net.masking) return null;
    const split = x === data.trainX ? data.nTrain : x === data.testX ? data.nTest : -1;
    if (split !== n) return sharedRowsOf(net, x, n);
    let s = splits.get(x);
    if (s === undefined) splits.set(x, (s = sharedRowsOf(net, x, n)));
    return s;
  };
  const trainShared = sharedRows(data.trainX, data.nTrain);

  return {
    backend: 'fused-js',
    trainBatch(rows: Int32Array): BatchMetrics {
      const metrics = trainShared
        ? sharedBatchGradient(net, data.trainX, data.trainY, rows, trainShared)
        : batchGradient(net, data.trainX, data.trainY, rows);
      step++;
      adamStep(net.params, net.grad, m, v, step, adam);
      syncTransposed(net);
      return metrics;
    },
    evaluate(x: Float32Array, y: Float32Array, n: number): Evaluation {
      // Same refusal as the tfjs trainer: a mean over no rows is not a metric.
      if (n < 1) throw new ConvergeError('train.emptyEvaluation', 'evaluate() needs at least one row');
      const s = sharedRows(x, n);
      if (s) return sharedEvaluate(net, x, y, n, s);
      let loss = 0;
      let mae = 0;
      let maxOutput = -Infinity;
      for (let r = 0; r < n; r++) {
        const pred = predictRow(net, x, r * L);
        const err = pred - y[r]!;
        loss += err * err;
        mae += Math.abs(err);
        // NaN must win so a diverged model is never reported as dead.
        if (pred > maxOutput || Number.isNaN(pred)) maxOutput = pred;
      }
      return { loss: loss / n, mae: mae / n, maxOutput };
    },
    isFrozen(): boolean {
      // v accumulates g²; it is exactly zero only if every gradient so far was exactly zero.
      for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
      return step > 0;
    },
    predictPopulation(): Float64Array {
      return populationOutputs(net);
    },
    predict(x: Float32Array, n: number): Float32Array {
      const out = new Float32Array(n);
      const s = sharedRows(x, n);
      if (s) {
        sharedPredict(net, x, n, s, out);
        return out;
      }
      for (let r = 0; r < n; r++) out[r] = predictRow(net, x, r * L);
      return out;
    },
    getWeights(): LstmWeights {
      return getWeights(net);
    },
    getParams(): Float64Array {
      return net.params.slice();
    },
    dispose(): void {
      // Only garbage-collected typed arrays: nothing to free.
    },
  };
}

/** Copies Keras-layout weights into the packed float64 parameters. */
export function setWeights(net: FusedNet, w: LstmWeights): void {
  const lay = net.layout;
  const g = 4 * net.units;
  const expect: Array<[string, Float32Array, number]> = [
    ['kernel', w.kernel, lay.inputDim * g],
    ['recurrentKernel', w.recurrentKernel, net.units * g],
    ['bias', w.bias, g],
    ['denseKernel', w.denseKernel, net.units],
    ['denseBias', w.denseBias, 1],
  ];
  for (const [name, arr, len] of expect) {
    if (arr.length !== len) {
      throw new ConvergeError('train.badWeights', `${name} has ${arr.length} values, expected ${len}`);
    }
  }
  net.params.set(w.kernel, lay.kernel);
  net.params.set(w.recurrentKernel, lay.recurrent);
  net.params.set(w.bias, lay.bias);
  net.params.set(w.denseKernel, lay.dense);
  net.params.set(w.denseBias, lay.denseBias);
  syncTransposed(net);
}

/** The packed parameters as Keras-layout float32 weights (a copy). */
export function getWeights(net: FusedNet): LstmWeights {
  const lay = net.layout;
  const p = net.params;
  return {
    inputDim: lay.inputDim,
    units: lay.units,
    kernel: Float32Array.from(p.subarray(lay.kernel, lay.recurrent)),
    recurrentKernel: Float32Array.from(p.subarray(lay.recurrent, lay.bias)),
    bias: Float32Array.from(p.subarray(lay.bias, lay.dense)),
    denseKernel: Float32Array.from(p.subarray(lay.dense, lay.denseBias)),
    denseBias: Float32Array.from(p.subarray(lay.denseBias, lay.size)),
  };
}
