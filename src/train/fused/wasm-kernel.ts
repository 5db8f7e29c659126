import { ConvergeError } from '../../errors';
import type { BatchMetrics } from '../contract';
import type { BatchPath, FusedKernel, KernelNet } from './kernel';
import { paramLayout, type NetOptions } from './forward';

/** The exports of assembly/fused-kernel.ts (pointers are byte offsets into `memory`). */
interface KernelExports {
  memory: WebAssembly.Memory;
  setup(units: number, seqLen: number, hard: number, relu: number, masking: number, nTrain: number): number;
  paramsPtr(): number;
  gradPtr(): number;
  trainXPtr(): number;
  trainYPtr(): number;
  rowsPtr(): number;
  paramCount(): number;
  maeOfLastBatch(): number;
  alloc(bytes: number): number;
  syncDerived(): void;
  secondMomentsZero(): number;
  predictRows(xPtr: number, n: number, outPtr: number): void;
  batchGradient(batch: number): number;
  trainBatch(batch: number, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number): number;
  setSharedInput(x: number): void;
  trainStepsPtr(): number;
  sharedBatchGradient(batch: number): number;
  trainBatchShared(batch: number, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number): number;
  predictShared(x: number, stepsPtr: number, n: number, outPtr: number): void;
  populationOutputs(outPtr: number, rowPtr: number): void;
  sigmoidApprox(x: number): number;
  tanhApprox(x: number): number;
}

export interface WasmKernel extends FusedKernel {
  /** Instantiates a one-unit net and runs one step: throws if this thread cannot run the kernel. */
  probe(): void;
  /** The kernel's sigmoid and tanh on one number (tests of their accuracy). */
  approximations(): { sigmoid(x: number): number; tanh(x: number): number };
}

/**
 * For ParamLayout index i (inputDim 1), the index in the kernel's padded layout, where each gate
 * block of 4·units columns is widened to 4·up (up = units rounded up to even) so no SIMD vector
 * straddles two gates (see assembly/fused-kernel.ts).
 */
function paddedIndex(units: number): Int32Array {
  const lay = paramLayout(1, units);
  const u = units;
  const up = (u + 1) & ~1;
  const G = 4 * up;
  const col = (j: number): number => Math.floor(j / u) * up + (j % u);
  const map = new Int32Array(lay.size);
  for (let j = 0; j < 4 * u; j++) {
    map[lay.kernel + j] = col(j);
    map[lay.bias + j] = G + u * G + col(j);
  }
  for (let k = 0; k < u; k++) for (let j = 0; j < 4 * u; j++) map[lay.recurrent + k * 4 * u + j] = G + k * G + col(j);
  for (let k = 0; k < u; k++) map[lay.dense + k] = G + u * G + G + k;
  map[lay.denseBias] = G + u * G + G + up;
  return map;
}

/**
 * Whether the n rows of x ([n][L], one feature) share one trajectory under masking: every
 * unmasked (non-zero) step holds the same value. Returns that value (1 when no step is unmasked)
 * and each row's unmasked step count, or null. Same rule as shared.ts's sharedRowsOf.
 */
export function sharedInputOf(x: Float32Array, n: number, L: number): { value: number; steps: Int32Array } | null {
  let value = 1;
  let have = false;
  const steps = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let m = 0;
    for (let t = r * L, end = t + L; t < end; t++) {
      const v = x[t]!;
      if (v === 0) continue;
      if (!have) {
        value = v;
        have = true;
      } else if (v !== value) {
        // (a NaN is unmasked but equals nothing: such a matrix takes the per-row path)
        return null;
      }
      m++;
    }
    steps[r] = m;
  }
  return { value, steps };
}

function exportsOf(module: WebAssembly.Module): KernelExports {
  return new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
}

/** The WebAssembly SIMD kernel: one instance (and linear memory) per net. */
export function createWasmKernel(module: WebAssembly.Module): WasmKernel {
  const kernel: WasmKernel = {
    backend: 'fused-wasm-simd',
    createNet(opts: NetOptions, trainX: Float32Array, trainY: Float32Array, path: BatchPath = 'shared'): KernelNet {
      if (opts.inputDim !== 1) {
        throw new ConvergeError('train.badWeights', `the wasm kernel takes inputDim 1, got ${opts.inputDim}`);
      }
      const L = opts.seqLen;
      const nTrain = trainY.length;
      if (trainX.length !== nTrain * L) {
        throw new ConvergeError('train.badData', `trainX has ${trainX.length} values, expected ${nTrain}·${L}`);
      }
      const ex = exportsOf(module);
      ex.setup(opts.units, L, opts.hardSigmoid ? 1 : 0, opts.relu ? 1 : 0, opts.masking ? 1 : 0, nTrain);
      const map = paddedIndex(opts.units);
      const size = map.length;
      const pParams = ex.paramsPtr();
      const pGrad = ex.gradPtr();
      const pRows = ex.rowsPtr();
      const np = ex.paramCount();
      new Float32Array(ex.memory.buffer, ex.trainXPtr(), trainX.length).set(trainX);
      new Float32Array(ex.memory.buffer, ex.trainYPtr(), nTrain).set(trainY);
      // The shared-trajectory path (masking on, rows sharing one input value), else per row.
      const shareable = path === 'shared' && opts.masking;
      const trainShared = shareable ? sharedInputOf(trainX, nTrain, L) : null;
      if (trainShared) {
        ex.setSharedInput(trainShared.value);
        new Int32Array(ex.memory.buffer, ex.trainStepsPtr(), nTrain).set(trainShared.steps);
      }
      // Whether evaluation inputs share a trajectory is a property of the matrix: the loop passes
      // the same (never rewritten) split arrays every epoch, so each is checked once.
      const sharedOf = new WeakMap<Float32Array, { n: number; s: ReturnType<typeof sharedInputOf> }>();
      const sharedFor = (x: Float32Array, n: number): ReturnType<typeof sharedInputOf> => {
        if (!shareable) return null;
        const hit = sharedOf.get(x);
        if (hit && hit.n === n) return hit.s;
        const s = sharedInputOf(x, n, L);
        sharedOf.set(x, { n, s });
        return s;
      };
      // Scratch for evaluation rows and outputs, grown on demand (growing detaches old views).
      const scratch = new Map<string, { ptr: number; bytes: number }>();
      const area = (name: string, bytes: number): number => {
        const a = scratch.get(name);
        if (a && a.bytes >= bytes) return a.ptr;
        const ptr = ex.alloc(bytes);
        scratch.set(name, { ptr, bytes });
        return ptr;
      };
      const f64 = (ptr: number, n: number): Float64Array => new Float64Array(ex.memory.buffer, ptr, n);
      const putRows = (rows: Int32Array): void => {
        if (rows.length > nTrain) throw new ConvergeError('train.badBatch', `a batch of ${rows.length} rows from ${nTrain}`);
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i]!;
          // The kernel reads rows straight from memory: an index outside the split must not reach it.
          if (!(r >= 0 && r < nTrain)) throw new ConvergeError('train.badBatch', `row ${r} is outside the train split (0..${nTrain - 1})`);
        }
        new Int32Array(ex.memory.buffer, pRows, rows.length).set(rows);
      };
      return {
        path: trainShared ? 'shared' : 'per-row',
        batchGradient(rows: Int32Array): BatchMetrics {
          putRows(rows);
          const loss = trainShared ? ex.sharedBatchGradient(rows.length) : ex.batchGradient(rows.length);
          return { loss, mae: ex.maeOfLastBatch() };
        },
        trainBatch(rows, step, adam): BatchMetrics {
          putRows(rows);
          // adam.ts's bias corrections, computed the same way.
          const c1 = 1 - Math.pow(adam.beta1, step);
          const c2 = 1 - Math.pow(adam.beta2, step);
          const loss = (trainShared ? ex.trainBatchShared : ex.trainBatch)(rows.length, adam.learningRate, adam.beta1, adam.beta2, adam.epsilon, c1, c2);
          return { loss, mae: ex.maeOfLastBatch() };
        },
        predict(x, n, out) {
          if (x.length < n * L) throw new ConvergeError('train.badData', `x has ${x.length} values, expected ${n}·${L}`);
          const s = sharedFor(x, n);
          if (s) {
            const pSteps = area('steps', n * 4);
            const pOut = area('out', n * 8);
            new Int32Array(ex.memory.buffer, pSteps, n).set(s.steps);
            ex.predictShared(s.value, pSteps, n, pOut);
            out.set(f64(pOut, n));
            return;
          }
          const pX = area('x', n * L * 4);
          const pOut = area('out', n * 8);
          new Float32Array(ex.memory.buffer, pX, n * L).set(x.subarray(0, n * L));
          ex.predictRows(pX, n, pOut);
          out.set(f64(pOut, n));
        },
        predictPopulation(out) {
          const pRow = area('row', L * 4);
          const pOut = area('out', (L + 1) * 8);
          ex.populationOutputs(pOut, pRow);
          out.set(f64(pOut, L + 1));
          return out;
        },
        getParams() {
          const padded = f64(pParams, np);
          const p = new Float64Array(size);
          for (let i = 0; i < size; i++) p[i] = padded[map[i]!]!;
          return p;
        },
        setParams(p) {
          const padded = f64(pParams, np);
          padded.fill(0);
          for (let i = 0; i < size; i++) padded[map[i]!] = p[i]!;
          ex.syncDerived();
        },
        getGradient() {
          const padded = f64(pGrad, np);
          const g = new Float64Array(size);
          for (let i = 0; i < size; i++) g[i] = padded[map[i]!]!;
          return g;
        },
        secondMomentsZero: () => ex.secondMomentsZero() === 1,
      };
    },
    probe() {
      const net = kernel.createNet(
        { inputDim: 1, units: 1, seqLen: 2, hardSigmoid: false, masking: true, relu: false },
        Float32Array.of(0, 1),
        Float32Array.of(0.5),
      );
      net.setParams(Float64Array.from({ length: paramLayout(1, 1).size }, (_, i) => 0.1 * (i + 1)));
      const m = net.batchGradient(Int32Array.of(0));
      if (!Number.isFinite(m.loss)) throw new Error(`the kernel's probe step gave loss ${m.loss}`);
    },
    approximations() {
      const ex = exportsOf(module);
      return { sigmoid: (x) => ex.sigmoidApprox(x), tanh: (x) => ex.tanhApprox(x) };
    },
  };
  return kernel;
}
