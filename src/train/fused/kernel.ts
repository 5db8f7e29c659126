import { ConvergeError } from '../../errors';
import type { BatchMetrics } from '../contract';
import { adamStep, type AdamConfig } from './adam';
import { batchGradient } from './backward';
import { FusedNet, predictRow, syncTransposed, type NetOptions } from './forward';
import { populationOutputs } from './population';
import { sharedBatchGradient, sharedPredict, sharedRowsOf, type SharedRows } from './shared';
import { loadWasmKernel } from './wasm-loader';

/** What computed a run, as recorded in runs.backend. */
export type KernelBackend = 'fused-js' | 'fused-wasm-simd';

/**
 * One network on one kernel: its parameters, gradient, Adam moments and every buffer a pass
 * needs, plus the train split it steps on. Parameters cross this interface in ParamLayout order
 * (forward.ts), whatever the kernel keeps inside.
 */
/**
 * How a batch is computed. `shared`: with masking on and rows whose unmasked steps share one
 * input, all rows of a batch (and of an evaluation) run one hidden-state trajectory; otherwise
 * (masking off, other inputs) per row. `per-row`: every row forward and backward on its own,
 * the reference the shared path is tested against.
 */
export type BatchPath = 'shared' | 'per-row';

export interface KernelNet {
  /** The path trainBatch takes on this net's train split. */
  readonly path: BatchPath;
  /** Loss and MAE of `rows` (indices into the train split); leaves the gradient for getGradient. */
  batchGradient(rows: Int32Array): BatchMetrics;
  /** batchGradient, then one Adam step (`step` is 1-based). The wasm kernel does both in one call. */
  trainBatch(rows: Int32Array, step: number, adam: AdamConfig): BatchMetrics;
  /** Model outputs for `n` rows of x ([n][seqLen]) into out. */
  predict(x: Float32Array, n: number, out: Float64Array): void;
  /**
   * Outputs for every population row k = 0..seqLen (k leading zeros, then ones) into out; with
   * masking on, from one shared trajectory (population.ts).
   */
  predictPopulation(out: Float64Array): Float64Array;
  /** A copy of the parameters, ParamLayout order. */
  getParams(): Float64Array;
  setParams(p: Float64Array): void;
  /** A copy of the last batch's gradient, ParamLayout order. */
  getGradient(): Float64Array;
  /** True when every Adam second moment is exactly zero (no gradient was ever non-zero). */
  secondMomentsZero(): boolean;
}

export interface FusedKernel {
  readonly backend: KernelBackend;
  /** A network for `opts` training on (trainX [nTrain][seqLen], trainY [nTrain]); inputDim must be 1 for wasm. */
  createNet(opts: NetOptions, trainX: Float32Array, trainY: Float32Array, path?: BatchPath): KernelNet;
}

/**
 * The plain-JS kernels (forward.ts, backward.ts, shared.ts, adam.ts): the reference and the
 * fallback.
 */
export const jsKernel: FusedKernel = {
  backend: 'fused-js',
  createNet(opts: NetOptions, trainX: Float32Array, trainY: Float32Array, path: BatchPath = 'shared'): KernelNet {
    const net = new FusedNet(opts);
    const m = new Float64Array(net.layout.size);
    const v = new Float64Array(net.layout.size);
    const L = opts.seqLen;
    const shareable = path === 'shared' && opts.masking;
    const trainShared = shareable ? sharedRowsOf(net, trainX, trainY.length) : null;
    // Which rows share a trajectory is a property of the input matrix: the loop passes the same
    // (never rewritten) split arrays every epoch, so each is checked once.
    const sharedOf = new WeakMap<Float32Array, { n: number; s: SharedRows | null }>();
    const sharedFor = (x: Float32Array, n: number): SharedRows | null => {
      if (!shareable) return null;
      const hit = sharedOf.get(x);
      if (hit && hit.n === n) return hit.s;
      const s = sharedRowsOf(net, x, n);
      sharedOf.set(x, { n, s });
      return s;
    };
    const gradient = (rows: Int32Array): BatchMetrics =>
      trainShared ? sharedBatchGradient(net, trainX, trainY, rows, trainShared) : batchGradient(net, trainX, trainY, rows);
    return {
      path: trainShared ? 'shared' : 'per-row',
      batchGradient: gradient,
      trainBatch(rows, step, adam) {
        const metrics = gradient(rows);
        adamStep(net.params, net.grad, m, v, step, adam);
        syncTransposed(net);
        return metrics;
      },
      predict(x, n, out) {
        const s = sharedFor(x, n);
        if (s) sharedPredict(net, x, n, s, out);
        else for (let r = 0; r < n; r++) out[r] = predictRow(net, x, r * L);
      },
      predictPopulation: (out) => populationOutputs(net, out),
      getParams: () => net.params.slice(),
      setParams(p) {
        net.params.set(p);
        syncTransposed(net);
      },
      getGradient: () => net.grad.slice(),
      secondMomentsZero() {
        for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
        return true;
      },
    };
  },
};

/** The kernel a trainer uses, and why it is not the fast one when it is not. */
export interface KernelChoice {
  kernel: FusedKernel;
  /** @default 'shared' */
  path?: BatchPath;
  /** Set when the wasm kernel was wanted but could not be loaded (the run still trains, on JS). */
  notice?: string;
}

const KERNEL_VALUES = ['wasm', 'wasm-per-row', 'js', 'js-per-row'] as const;

/**
 * What CONVERGE_KERNEL asks for (unset or empty: wasm): the kernel, and `-per-row` for the
 * per-row reference path instead of the shared trajectory. Anything else is refused.
 */
export function kernelWanted(env: NodeJS.ProcessEnv = process.env): { kernel: 'wasm' | 'js'; path: BatchPath } {
  const want = env.CONVERGE_KERNEL || 'wasm';
  if (!(KERNEL_VALUES as readonly string[]).includes(want)) {
    throw new ConvergeError('train.unknownKernel', `CONVERGE_KERNEL: expected one of ${KERNEL_VALUES.join(', ')}, got '${want}'`);
  }
  return { kernel: want.startsWith('js') ? 'js' : 'wasm', path: want.endsWith('-per-row') ? 'per-row' : 'shared' };
}

/**
 * `CONVERGE_KERNEL`: `wasm` (the default: WebAssembly SIMD, falling back to JS if this thread
 * cannot instantiate it) or `js` (the plain-JS reference kernels); `wasm-per-row`/`js-per-row`
 * keep every row on its own path (the reference for the shared trajectory).
 */
export function chooseKernel(env: NodeJS.ProcessEnv = process.env): KernelChoice {
  const want = kernelWanted(env);
  if (want.kernel === 'js') return { kernel: jsKernel, path: want.path };
  const loaded = loadWasmKernel();
  if (loaded.ok) return { kernel: loaded.kernel, path: want.path };
  return {
    kernel: jsKernel,
    path: want.path,
    notice: `the WebAssembly kernel could not be loaded (${loaded.reason}); training on the plain-JS kernel (fused-js)`,
  };
}
