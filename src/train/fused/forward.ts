/**
 * Forward pass of Masking → LSTM → Dense(1) as plain loops over typed arrays (no TF.js here:
 * house style, "pure core": kernels vs glue as tfjs-backend-cpu's GatherV2_impl.ts vs GatherV2.ts).
 *
 * Numbers: everything is float64 (params, activations, gradients). TF.js computes in float32;
 * float64 is at least as close to the exact model, so fused − tfjs differences are tfjs's own
 * rounding (~1e-7 relative per op), far inside the 1e-4 tolerance the equality tests use, and
 * the same kernels serve the finite-difference gradient check without a second instantiation.
 *
 * Semantics follow tfjs-layers 4.22 (node_modules/@tensorflow/tfjs-layers/dist/layers/recurrent.js):
 * LSTMCell.call: z = x·kernel + h·recurrentKernel + bias, split i,f,c,o;
 * c' = f·c + i·tanh(z_c); h' = o·tanh(c'). rnn(): on a masked step, output and states are the
 * previous ones (`out·mask + prev·(1−mask)`), so a masked step is skipped outright here.
 */

import { sigmoid, tanh } from './activations';

/** Packed parameter layout, Keras order inside: [kernel D·4u | recurrentKernel u·4u | bias 4u | denseKernel u | denseBias 1]. */
export interface ParamLayout {
  inputDim: number;
  units: number;
  kernel: number;
  recurrent: number;
  bias: number;
  dense: number;
  denseBias: number;
  size: number;
}

export function paramLayout(inputDim: number, units: number): ParamLayout {
  const g = 4 * units;
  const kernel = 0;
  const recurrent = kernel + inputDim * g;
  const bias = recurrent + units * g;
  const dense = bias + g;
  const denseBias = dense + units;
  return { inputDim, units, kernel, recurrent, bias, dense, denseBias, size: denseBias + 1 };
}

export interface NetOptions {
  inputDim: number;
  units: number;
  /** Longest sequence the workspace must hold (timesteps). */
  seqLen: number;
  /** Gate activation: false = sigmoid, true = hard_sigmoid (clip(0.2x+0.5, 0, 1)). */
  hardSigmoid: boolean;
  /** Masking(mask_value=0): a step whose features are all 0 carries h and c. */
  masking: boolean;
  /** Dense activation: true = relu, false = linear. */
  relu: boolean;
}

/**
 * One network: its parameters plus every buffer a forward/backward pass needs, allocated once.
 * A plain class with typed-array fields keeps the hot loops monomorphic (one hidden class).
 */
export class FusedNet {
  readonly inputDim: number;
  readonly units: number;
  readonly seqLen: number;
  readonly hardSigmoid: boolean;
  readonly masking: boolean;
  readonly relu: boolean;
  readonly layout: ParamLayout;
  /** Packed parameters (see ParamLayout). */
  readonly params: Float64Array;
  /**
   * recurrentKernel transposed to [4u][u]: the forward z_j = Σ_k h_k·R[k][j] becomes a
   * contiguous dot product per gate column with its sum held in a register, instead of an
   * axpy that loads and stores z u times per step. Refreshed by `syncTransposed` after every
   * update.
   */
  readonly recurrentT: Float64Array;

  // Per stored (unmasked) step s = 0..nSteps-1. Only unmasked steps are stored, so a row with
  // k leading zeros costs (L−k)·7u doubles; L=2000, u=10 is 1.1 MB at most.
  /** Activated gates i, f, g=tanh(z_c), o: [s][4u]. */
  readonly act: Float64Array;
  /** Cell state after step s at (s+1)·u; c before the first step (zeros) at 0. */
  readonly cs: Float64Array;
  /** Hidden state, same indexing as cs. */
  readonly hs: Float64Array;
  /** tanh(c) after step s: [s][u]. */
  readonly tcs: Float64Array;
  /** Timestep index t of stored step s (to find x_t in the backward pass). */
  readonly stepT: Int32Array;
  /** Stored steps of the last forward row. */
  nSteps = 0;
  /** Dense pre-activation and prediction of the last forward row. */
  out = 0;
  pred = 0;

  // Backward scratch.
  readonly dh: Float64Array;
  readonly dc: Float64Array;
  readonly dz: Float64Array;
  /** Gradient, packed like params. */
  readonly grad: Float64Array;

  constructor(o: NetOptions) {
    this.inputDim = o.inputDim;
    this.units = o.units;
    this.seqLen = o.seqLen;
    this.hardSigmoid = o.hardSigmoid;
    this.masking = o.masking;
    this.relu = o.relu;
    this.layout = paramLayout(o.inputDim, o.units);
    const u = o.units;
    const g = 4 * u;
    this.params = new Float64Array(this.layout.size);
    this.recurrentT = new Float64Array(u * g);
    this.act = new Float64Array(o.seqLen * g);
    this.cs = new Float64Array((o.seqLen + 1) * u);
    this.hs = new Float64Array((o.seqLen + 1) * u);
    this.tcs = new Float64Array(o.seqLen * u);
    this.stepT = new Int32Array(o.seqLen);
    this.dh = new Float64Array(u);
    this.dc = new Float64Array(u);
    this.dz = new Float64Array(g);
    this.grad = new Float64Array(this.layout.size);
  }
}

/** Rebuild `recurrentT` from `params`; call after any change to the recurrent kernel. */
export function syncTransposed(net: FusedNet): void {
  const u = net.units;
  const g = 4 * u;
  const p = net.params;
  const rt = net.recurrentT;
  const r0 = net.layout.recurrent;
  for (let k = 0; k < u; k++) {
    for (let j = 0; j < g; j++) rt[j * u + k] = p[r0 + k * g + j]!;
  }
}


/**
 * Runs one row forward (x at `xOff`, `seqLen·inputDim` values, [t][d]), storing every unmasked
 * step's activations in `net` for `backwardRow`. Returns the prediction (also in net.pred).
 */
export function forwardRow(net: FusedNet, x: Float32Array, xOff: number): number {
  return runRow(net, x, xOff, true);
}

/**
 * Forward only, nothing stored beyond the current state: for evaluation. It reuses the first
 * slots of the stored activations, so `backwardRow` must follow its `forwardRow` directly.
 */
export function predictRow(net: FusedNet, x: Float32Array, xOff: number): number {
  return runRow(net, x, xOff, false);
}

function runRow(net: FusedNet, x: Float32Array, xOff: number, store: boolean): number {
  const u = net.units;
  const g = 4 * u;
  const D = net.inputDim;
  const L = net.seqLen;
  const p = net.params;
  const rt = net.recurrentT;
  const k0 = net.layout.kernel;
  const b0 = net.layout.bias;
  const hard = net.hardSigmoid;
  const masking = net.masking;
  const act = net.act;
  const cs = net.cs;
  const hs = net.hs;
  const tcs = net.tcs;
  const stepT = net.stepT;
  // Without storing, state ping-pongs between slots 0 and 1 of cs/hs and gates reuse act[0..g).
  for (let k = 0; k < u; k++) {
    cs[k] = 0;
    hs[k] = 0;
  }
  let n = 0;
  for (let t = 0; t < L; t++) {
    const xt = xOff + t * D;
    if (masking) {
      let any = false;
      for (let d = 0; d < D; d++) {
        if (x[xt + d] !== 0) {
          any = true;
          break;
        }
      }
      if (!any) continue;
    }
    const prev = store ? n * u : (n & 1) * u;
    const next = store ? prev + u : ((n + 1) & 1) * u;
    const a0 = store ? n * g : 0;
    const tc0 = store ? n * u : 0;
    // Per unit k, the four gate pre-activations z = b + Σ_d x_d·W[d] + Σ_m h_m·R[m] at once:
    // four independent sums give the CPU four dependency chains to overlap, where one dot
    // product per gate column waits on each add in turn (measured 2.09 → 1.93 µs per
    // forward+backward step on the seed cell).
    for (let k = 0; k < u; k++) {
      let zi = p[b0 + k]!;
      let zf = p[b0 + u + k]!;
      let zg = p[b0 + 2 * u + k]!;
      let zo = p[b0 + 3 * u + k]!;
      for (let d = 0; d < D; d++) {
        const xv = x[xt + d]!;
        const w = k0 + d * g + k;
        zi += xv * p[w]!;
        zf += xv * p[w + u]!;
        zg += xv * p[w + 2 * u]!;
        zo += xv * p[w + 3 * u]!;
      }
      const ri = k * u;
      const rf = (u + k) * u;
      const rg = (2 * u + k) * u;
      const ro = (3 * u + k) * u;
      for (let m = 0; m < u; m++) {
        const hm = hs[prev + m]!;
        zi += rt[ri + m]! * hm;
        zf += rt[rf + m]! * hm;
        zg += rt[rg + m]! * hm;
        zo += rt[ro + m]! * hm;
      }
      let gi: number;
      let gf: number;
      let go: number;
      if (hard) {
        gi = 0.2 * zi + 0.5;
        gi = gi < 0 ? 0 : gi > 1 ? 1 : gi;
        gf = 0.2 * zf + 0.5;
        gf = gf < 0 ? 0 : gf > 1 ? 1 : gf;
        go = 0.2 * zo + 0.5;
        go = go < 0 ? 0 : go > 1 ? 1 : go;
      } else {
        gi = sigmoid(zi);
        gf = sigmoid(zf);
        go = sigmoid(zo);
      }
      // sigmoid and tanh are the wasm kernel's, operation for operation (activations.ts).
      const gg = tanh(zg);
      const c = gf * cs[prev + k]! + gi * gg;
      const tc = tanh(c);
      act[a0 + k] = gi;
      act[a0 + u + k] = gf;
      act[a0 + 2 * u + k] = gg;
      act[a0 + 3 * u + k] = go;
      cs[next + k] = c;
      hs[next + k] = go * tc;
      tcs[tc0 + k] = tc;
    }
    if (store) stepT[n] = t;
    n++;
  }
  net.nSteps = store ? n : 0;
  const last = store ? n * u : (n & 1) * u;
  const d0 = net.layout.dense;
  let out = p[net.layout.denseBias]!;
  for (let k = 0; k < u; k++) out += p[d0 + k]! * hs[last + k]!;
  net.out = out;
  // `out < 0` rather than `!(out > 0)` so a NaN output stays NaN and divergence is seen.
  net.pred = net.relu && out < 0 ? 0 : out;
  return net.pred;
}
