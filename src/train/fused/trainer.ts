import type { Dataset } from '../../data/sequences';
import { ConvergeError } from '../../errors';
import type { BatchMetrics, Evaluation, LstmWeights, Trainer, TrainRequest } from '../contract';
import type { AdamConfig } from './adam';
import { FusedNet, paramLayout, syncTransposed, type ParamLayout } from './forward';
import { chooseKernel, kernelWanted, type BatchPath, type FusedKernel, type KernelChoice } from './kernel';

/** The Trainer plus a raw forward pass (tests, population evaluation), like TfjsTrainer. */
export interface FusedTrainer extends Trainer {
  /** Model outputs for `n` rows of x ([n, seqLen]). */
  predict(x: Float32Array, n: number): Float32Array;
  /** A copy of the float64 parameters, packed as ParamLayout (forward.ts): for exact comparisons. */
  getParams(): Float64Array;
  /** Set when the wasm kernel was wanted but this thread could not load it. */
  readonly notice?: string;
}

/**
 * The batch path CONVERGE_KERNEL asks for: `js-per-row`/`wasm-per-row` keep every row on its own
 * (the reference), anything else shares trajectories (kernel.ts kernelWanted).
 */
export function batchPathFromEnv(env: NodeJS.ProcessEnv = process.env): BatchPath {
  return kernelWanted(env).path;
}

export interface FusedTrainerOptions {
  /** The kernel (and why it is not wasm when it is not). @default chooseKernel(): CONVERGE_KERNEL */
  kernel?: KernelChoice;
  /** How batches run (kernel.ts BatchPath). @default the kernel choice's path, else 'shared' */
  batchPath?: BatchPath;
}

/**
 * The glue between the shared epoch loop and a fused kernel (kernel.ts: the WebAssembly SIMD one
 * by default, the plain-JS one as fallback or with CONVERGE_KERNEL=js). The kernel's net owns the
 * parameters, every buffer and the Adam moments, allocated once here.
 */
export function createFusedTrainer(req: TrainRequest, data: Dataset, weights: LstmWeights, options: FusedTrainerOptions = {}): FusedTrainer {
  const choice = options.kernel ?? chooseKernel();
  const units = req.model.units;
  if (weights.units !== units || weights.inputDim !== 1) {
    throw new ConvergeError(
      'train.badWeights',
      `weights are for units=${weights.units}, inputDim=${weights.inputDim}; the model needs units=${units}, inputDim=1`,
    );
  }
  const kernel: FusedKernel = choice.kernel;
  const layout = paramLayout(1, units);
  const net = kernel.createNet(
    {
      inputDim: 1,
      units,
      seqLen: data.seqLen,
      hardSigmoid: req.model.recurrentActivation === 'hard_sigmoid',
      masking: req.model.masking,
      relu: req.model.outputActivation === 'relu',
    },
    data.trainX,
    data.trainY,
    options.batchPath ?? choice.path ?? 'shared',
  );
  net.setParams(packWeights(layout, weights));
  const adam: AdamConfig = {
    learningRate: req.train.learningRate,
    beta1: req.train.beta1,
    beta2: req.train.beta2,
    epsilon: req.train.epsilon,
  };
  let step = 0;
  let scratch = new Float64Array(0);
  const outputs = (x: Float32Array, n: number): Float64Array => {
    if (scratch.length < n) scratch = new Float64Array(n);
    net.predict(x, n, scratch);
    return scratch;
  };

  return {
    backend: kernel.backend,
    ...(choice.notice !== undefined ? { notice: choice.notice } : {}),
    trainBatch(rows: Int32Array): BatchMetrics {
      step++;
      return net.trainBatch(rows, step, adam);
    },
    evaluate(x: Float32Array, y: Float32Array, n: number): Evaluation {
      // Same refusal as the tfjs trainer: a mean over no rows is not a metric.
      if (n < 1) throw new ConvergeError('train.emptyEvaluation', 'evaluate() needs at least one row');
      const preds = outputs(x, n);
      let loss = 0;
      let mae = 0;
      let maxOutput = -Infinity;
      for (let r = 0; r < n; r++) {
        const pred = preds[r]!;
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
      return step > 0 && net.secondMomentsZero();
    },
    predictPopulation(): Float64Array {
      return net.predictPopulation(new Float64Array(data.seqLen + 1));
    },
    predict(x: Float32Array, n: number): Float32Array {
      return Float32Array.from(outputs(x, n).subarray(0, n));
    },
    getWeights(): LstmWeights {
      return unpackWeights(layout, net.getParams());
    },
    getParams(): Float64Array {
      return net.getParams();
    },
    dispose(): void {
      // Only garbage-collected typed arrays and wasm memory: nothing to free.
    },
  };
}

/** Keras-layout weights as packed float64 parameters (ParamLayout order). */
export function packWeights(lay: ParamLayout, w: LstmWeights): Float64Array {
  const g = 4 * lay.units;
  const expect: Array<[string, Float32Array, number]> = [
    ['kernel', w.kernel, lay.inputDim * g],
    ['recurrentKernel', w.recurrentKernel, lay.units * g],
    ['bias', w.bias, g],
    ['denseKernel', w.denseKernel, lay.units],
    ['denseBias', w.denseBias, 1],
  ];
  for (const [name, arr, len] of expect) {
    if (arr.length !== len) {
      throw new ConvergeError('train.badWeights', `${name} has ${arr.length} values, expected ${len}`);
    }
  }
  const p = new Float64Array(lay.size);
  p.set(w.kernel, lay.kernel);
  p.set(w.recurrentKernel, lay.recurrent);
  p.set(w.bias, lay.bias);
  p.set(w.denseKernel, lay.dense);
  p.set(w.denseBias, lay.denseBias);
  return p;
}

/** Packed parameters as Keras-layout float32 weights (a copy). */
export function unpackWeights(lay: ParamLayout, p: Float64Array): LstmWeights {
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

/** Copies Keras-layout weights into a FusedNet's packed float64 parameters. */
export function setWeights(net: FusedNet, w: LstmWeights): void {
  net.params.set(packWeights(net.layout, w));
  syncTransposed(net);
}

/** A FusedNet's packed parameters as Keras-layout float32 weights (a copy). */
export function getWeights(net: FusedNet): LstmWeights {
  return unpackWeights(net.layout, net.params);
}
