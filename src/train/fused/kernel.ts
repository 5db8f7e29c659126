import { ConvergeError } from '../../errors';
import type { BatchMetrics } from '../contract';
import { adamStep, type AdamConfig } from './adam';
import { batchGradient } from './backward';
import { FusedNet, predictRow, syncTransposed, type NetOptions } from './forward';
import { loadWasmKernel } from './wasm-loader';

/** What computed a run, as recorded in runs.backend. */
export type KernelBackend = 'fused-js' | 'fused-wasm-simd';

/**
 * One network on one kernel: its parameters, gradient, Adam moments and every buffer a pass
 * needs, plus the train split it steps on. Parameters cross this interface in ParamLayout order
 * (forward.ts), whatever the kernel keeps inside.
 */
export interface KernelNet {
  /** Loss and MAE of `rows` (indices into the train split); leaves the gradient for getGradient. */
  batchGradient(rows: Int32Array): BatchMetrics;
  /** batchGradient, then one Adam step (`step` is 1-based). The wasm kernel does both in one call. */
  trainBatch(rows: Int32Array, step: number, adam: AdamConfig): BatchMetrics;
  /** Model outputs for `n` rows of x ([n][seqLen]) into out. */
  predict(x: Float32Array, n: number, out: Float64Array): void;
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
  createNet(opts: NetOptions, trainX: Float32Array, trainY: Float32Array): KernelNet;
}

/** The plain-JS kernels (forward.ts, backward.ts, adam.ts): the reference and the fallback. */
export const jsKernel: FusedKernel = {
  backend: 'fused-js',
  createNet(opts: NetOptions, trainX: Float32Array, trainY: Float32Array): KernelNet {
    const net = new FusedNet(opts);
    const m = new Float64Array(net.layout.size);
    const v = new Float64Array(net.layout.size);
    const L = opts.seqLen;
    return {
      batchGradient: (rows) => batchGradient(net, trainX, trainY, rows),
      trainBatch(rows, step, adam) {
        const metrics = batchGradient(net, trainX, trainY, rows);
        adamStep(net.params, net.grad, m, v, step, adam);
        syncTransposed(net);
        return metrics;
      },
      predict(x, n, out) {
        for (let r = 0; r < n; r++) out[r] = predictRow(net, x, r * L);
      },
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
  /** Set when the wasm kernel was wanted but could not be loaded (the run still trains, on JS). */
  notice?: string;
}

/** The kernel CONVERGE_KERNEL asks for (unset or empty: wasm); anything else is refused. */
export function kernelWanted(env: NodeJS.ProcessEnv = process.env): 'wasm' | 'js' {
  const want = env.CONVERGE_KERNEL || 'wasm';
  if (want !== 'wasm' && want !== 'js') {
    throw new ConvergeError('train.unknownKernel', `CONVERGE_KERNEL: expected 'wasm' or 'js', got '${want}'`);
  }
  return want;
}

/**
 * `CONVERGE_KERNEL`: `wasm` (the default: WebAssembly SIMD, falling back to JS if this thread
 * cannot instantiate it) or `js` (the plain-JS reference kernels).
 */
export function chooseKernel(env: NodeJS.ProcessEnv = process.env): KernelChoice {
  if (kernelWanted(env) === 'js') return { kernel: jsKernel };
  const loaded = loadWasmKernel();
  if (loaded.ok) return { kernel: loaded.kernel };
  return {
    kernel: jsKernel,
    notice: `the WebAssembly kernel could not be loaded (${loaded.reason}); training on the plain-JS kernel (fused-js)`,
  };
}
