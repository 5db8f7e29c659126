import type { BatchMetrics, Evaluation } from '../contract';
import { forwardRow, type FusedNet } from './forward';

/**
 * Shared-trajectory batches: with masking on, a masked step carries h and c unchanged, so a row
 * whose unmasked steps all hold the same input vector runs exactly the first m steps of one
 * trajectory from the zero state (m = its unmasked step count). Every row of the seed's data is
 * such a row (k zeros, then L−k ones: m = L−k). A batch therefore needs:
 * - ONE forward pass, to its longest row (forwardRow on that row stores h_1…h_M);
 * - per-row Dense heads on h_{m_r}: the same operations in the same order as the per-row path,
 *   so predictions, loss and MAE are bitwise those of batchGradient (backward.ts);
 * - ONE backward pass through time, adding each row's dLoss/dh_{m_r} = dOut_r·denseKernel where
 *   that row ends. Backpropagation is linear in the injected adjoints, so this is the per-row
 *   gradient summed in another order (equal within rounding: test/train/shared.test.ts).
 * A batch of B rows then costs max m instead of Σ m steps.
 *
 * The per-row path (batchGradient) stays for masking off (leading zeros then enter the LSTM) and
 * for inputs that do not share a trajectory, and as the reference the tests compare against.
 */

/** Which rows of an input matrix share one trajectory, and the scratch a shared batch needs. */
export interface SharedRows {
  /** Unmasked step count m_r of each row. */
  readonly steps: Int32Array;
  /** Per-row Dense pre-activations of the current batch (scratch, indexed by batch position). */
  readonly outs: Float64Array;
  /** Σ dOut_r of the rows ending after s unmasked steps, at s (scratch, all zero between calls). */
  readonly inject: Float64Array;
}

/**
 * Checks that the `n` rows of x ([n][seqLen][inputDim]) share one trajectory under `net`: masking
 * is on, and every unmasked step (some feature non-zero) holds the same input vector. Returns
 * their step counts and scratch, or null when they do not (then use the per-row path).
 */
export function sharedRowsOf(net: FusedNet, x: Float32Array, n: number): SharedRows | null {
  if (!net.masking) return null;
  const L = net.seqLen;
  const D = net.inputDim;
  const rowLen = L * D;
  let ref = -1; // offset of the first unmasked step seen: its vector is the shared input
  const steps = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let m = 0;
    for (let t = 0; t < L; t++) {
      const xt = r * rowLen + t * D;
      let any = false;
      for (let d = 0; d < D; d++) {
        if (x[xt + d] !== 0) {
          any = true;
          break;
        }
      }
      if (!any) continue;
      if (ref < 0) ref = xt;
      // Object.is would tell −0 from 0, which masking does not; !== is the comparison wanted.
      for (let d = 0; d < D; d++) if (x[xt + d] !== x[ref + d]) return null;
      m++;
    }
    steps[r] = m;
  }
  return { steps, outs: new Float64Array(n), inject: new Float64Array(L + 1) };
}

/**
 * Forward to the longest of `rows` (all n rows of x when null) and Dense heads for each: fills
 * s.outs[i] with row i's pre-activation. The trajectory stays in `net` for `sharedBackward`;
 * returns the offset in x of the row it ran (its input holds the shared vector at every stored step).
 */
function sharedForward(net: FusedNet, x: Float32Array, rows: Int32Array | null, n: number, s: SharedRows): number {
  const steps = s.steps;
  let longest = 0;
  let longestRow = rows ? rows[0]! : 0;
  for (let i = 0; i < n; i++) {
    const r = rows ? rows[i]! : i;
    if (steps[r]! > longest) {
      longest = steps[r]!;
      longestRow = r;
    }
  }
  const xOff = longestRow * net.seqLen * net.inputDim;
  forwardRow(net, x, xOff);
  const u = net.units;
  const p = net.params;
  const hs = net.hs;
  const d0 = net.layout.dense;
  const db = p[net.layout.denseBias]!;
  const outs = s.outs;
  for (let i = 0; i < n; i++) {
    const h0 = steps[rows ? rows[i]! : i]! * u; // h after m steps; slot 0 is the zero state
    let out = db;
    for (let k = 0; k < u; k++) out += p[d0 + k]! * hs[h0 + k]!;
    outs[i] = out;
  }
  return xOff;
}

/**
 * Loss, MAE and gradient of one batch on the shared trajectory: `net.grad` ← d/dparams of
 * mean_r (pred_r − y_r)², as batchGradient computes it row by row. `s` must come from
 * sharedRowsOf(net, x, ·) for the same x.
 */
export function sharedBatchGradient(net: FusedNet, x: Float32Array, y: Float32Array, rows: Int32Array, s: SharedRows): BatchMetrics {
  const B = rows.length;
  net.grad.fill(0);
  const xRow = sharedForward(net, x, rows, B, s);
  const u = net.units;
  const grad = net.grad;
  const hs = net.hs;
  const lay = net.layout;
  const d0 = lay.dense;
  const relu = net.relu;
  const steps = s.steps;
  const outs = s.outs;
  const inject = s.inject;
  let loss = 0;
  let mae = 0;
  let top = 0; // longest row that sends a gradient back
  for (let i = 0; i < B; i++) {
    const r = rows[i]!;
    const out = outs[i]!;
    // As runRow: `out < 0` keeps a NaN output NaN.
    const pred = relu && out < 0 ? 0 : out;
    const err = pred - y[r]!;
    loss += err * err;
    mae += Math.abs(err);
    const dOut = relu && !(out > 0) ? 0 : (2 * err) / B;
    const m = steps[r]!;
    const h0 = m * u;
    for (let k = 0; k < u; k++) grad[d0 + k] = grad[d0 + k]! + dOut * hs[h0 + k]!;
    grad[lay.denseBias] = grad[lay.denseBias]! + dOut;
    if (dOut !== 0) {
      inject[m] = inject[m]! + dOut;
      if (m > top) top = m;
    }
  }
  // A row of zero steps ends at the zero initial state: its adjoint reaches no parameter.
  inject[0] = 0;
  sharedBackward(net, x, xRow, top, inject);
  return { loss: loss / B, mae: mae / B };
}

/**
 * Backpropagation through time over stored steps top−1 … 0 of the trajectory in `net` (run on
 * the row of x at `xRow`), adding
 * inject[s]·denseKernel to dh where h_s is some row's last state; clears inject as it goes. The
 * step body is backwardRow's (backward.ts), derivatives and accumulation order included.
 */
function sharedBackward(net: FusedNet, x: Float32Array, xRow: number, top: number, inject: Float64Array): void {
  const u = net.units;
  const g = 4 * u;
  const D = net.inputDim;
  const p = net.params;
  const grad = net.grad;
  const lay = net.layout;
  const k0 = lay.kernel;
  const r0 = lay.recurrent;
  const b0 = lay.bias;
  const d0 = lay.dense;
  const hard = net.hardSigmoid;
  const act = net.act;
  const cs = net.cs;
  const hs = net.hs;
  const tcs = net.tcs;
  const stepT = net.stepT;
  const dh = net.dh;
  const dc = net.dc;
  const dz = net.dz;
  for (let k = 0; k < u; k++) {
    dh[k] = 0;
    dc[k] = 0;
  }
  for (let s = top - 1; s >= 0; s--) {
    const w = inject[s + 1]!;
    if (w !== 0) {
      for (let k = 0; k < u; k++) dh[k] = dh[k]! + w * p[d0 + k]!;
      inject[s + 1] = 0;
    }
    const a0 = s * g;
    const prev = s * u;
    for (let k = 0; k < u; k++) {
      const gi = act[a0 + k]!;
      const gf = act[a0 + u + k]!;
      const gg = act[a0 + 2 * u + k]!;
      const go = act[a0 + 3 * u + k]!;
      const tc = tcs[prev + k]!;
      const dhk = dh[k]!;
      const dO = dhk * tc;
      const dC = dc[k]! + dhk * go * (1 - tc * tc);
      const dI = dC * gg;
      const dF = dC * cs[prev + k]!;
      const dG = dC * gi;
      dc[k] = dC * gf;
      if (hard) {
        dz[k] = gi > 0 && gi < 1 ? 0.2 * dI : 0;
        dz[u + k] = gf > 0 && gf < 1 ? 0.2 * dF : 0;
        dz[3 * u + k] = go > 0 && go < 1 ? 0.2 * dO : 0;
      } else {
        dz[k] = dI * gi * (1 - gi);
        dz[u + k] = dF * gf * (1 - gf);
        dz[3 * u + k] = dO * go * (1 - go);
      }
      dz[2 * u + k] = dG * (1 - gg * gg);
    }
    if (s > 0) {
      for (let k = 0; k < u; k++) {
        const hp = hs[prev + k]!;
        const row = r0 + k * g;
        let ai = 0;
        let af = 0;
        let ag = 0;
        let ao = 0;
        for (let m = 0; m < u; m++) {
          const ji = row + m;
          const jf = ji + u;
          const jg = jf + u;
          const jo = jg + u;
          const zi = dz[m]!;
          const zf = dz[u + m]!;
          const zg = dz[2 * u + m]!;
          const zo = dz[3 * u + m]!;
          ai += p[ji]! * zi;
          af += p[jf]! * zf;
          ag += p[jg]! * zg;
          ao += p[jo]! * zo;
          grad[ji] = grad[ji]! + hp * zi;
          grad[jf] = grad[jf]! + hp * zf;
          grad[jg] = grad[jg]! + hp * zg;
          grad[jo] = grad[jo]! + hp * zo;
        }
        dh[k] = ai + af + ag + ao;
      }
    }
    for (let j = 0; j < g; j++) grad[b0 + j] = grad[b0 + j]! + dz[j]!;
    const xt = xRow + stepT[s]! * D;
    for (let d = 0; d < D; d++) {
      const xv = x[xt + d]!;
      if (xv === 0) continue;
      const w0 = k0 + d * g;
      for (let j = 0; j < g; j++) grad[w0 + j] = grad[w0 + j]! + xv * dz[j]!;
    }
  }
}

/**
 * Loss, MAE and largest output of the `n` rows of x against y in one forward pass (the rows
 * must share a trajectory: `s` from sharedRowsOf(net, x, n)). Equal to evaluating each row on
 * its own: the same operations in the same order.
 */
export function sharedEvaluate(net: FusedNet, x: Float32Array, y: Float32Array, n: number, s: SharedRows): Evaluation {
  sharedForward(net, x, null, n, s);
  const relu = net.relu;
  const outs = s.outs;
  let loss = 0;
  let mae = 0;
  let maxOutput = -Infinity;
  for (let r = 0; r < n; r++) {
    const out = outs[r]!;
    const pred = relu && out < 0 ? 0 : out;
    const err = pred - y[r]!;
    loss += err * err;
    mae += Math.abs(err);
    // NaN must win so a diverged model is never reported as dead.
    if (pred > maxOutput || Number.isNaN(pred)) maxOutput = pred;
  }
  return { loss: loss / n, mae: mae / n, maxOutput };
}

/** Model outputs of the `n` rows of x in one forward pass (`s` from sharedRowsOf(net, x, n)). */
export function sharedPredict(net: FusedNet, x: Float32Array, n: number, s: SharedRows, out: Float32Array | Float64Array): void {
  sharedForward(net, x, null, n, s);
  const relu = net.relu;
  for (let r = 0; r < n; r++) {
    const o = s.outs[r]!;
    out[r] = relu && o < 0 ? 0 : o;
  }
}
