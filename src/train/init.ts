import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../util/rng';
import type { InitializerName, LstmWeights, ModelConfig } from './contract';

/**
 * Initial weights from the run's seed, one implementation for both engines (each library's own
 * random stream would make the engines incomparable). Semantics follow Keras 2.3:
 * - orthogonal(gain): QR of a normal matrix of shape (max(r,c), min(r,c)), sign-corrected,
 *   transposed when rows < cols, times gain;
 * - glorot_uniform: U(-lim, lim), lim = sqrt(6 / (fanIn + fanOut)), times gain;
 * - glorot_normal: truncated normal with std sqrt(2 / (fanIn + fanOut)), times gain.
 */
export function initMatrix(name: InitializerName, rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  const out = new Float32Array(rows * cols);
  if (name === 'glorot_uniform') {
    const lim = Math.sqrt(6 / (rows + cols));
    for (let i = 0; i < out.length; i++) out[i] = gain * (rng.next() * 2 - 1) * lim;
    return out;
  }
  if (name === 'glorot_normal') {
    // Keras uses a truncated normal (|z| < 2) with stddev corrected by 0.87962566103423978.
    const std = Math.sqrt(2 / (rows + cols)) / 0.8796256610342398;
    for (let i = 0; i < out.length; i++) {
      let z = rng.normal();
      while (Math.abs(z) >= 2) z = rng.normal();
      out[i] = gain * z * std;
    }
    return out;
  }
  // orthogonal
  const n = Math.max(rows, cols);
  const m = Math.min(rows, cols);
  // a: n x m normal; modified Gram–Schmidt on its columns gives Q with R's diagonal positive,
  // which equals numpy's q * sign(diag(r)).
  const q = new Float64Array(n * m);
  for (let i = 0; i < n * m; i++) q[i] = rng.normal();
  for (let j = 0; j < m; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q[i * m + j]! * q[i * m + k]!;
      for (let i = 0; i < n; i++) q[i * m + j] = q[i * m + j]! - dot * q[i * m + k]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * m + j]! * q[i * m + j]!;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < n; i++) q[i * m + j] = q[i * m + j]! / norm;
  }
  // q is n x m. If rows >= cols, result = q (rows x cols). Else result = q^T (m x n = rows x cols).
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = gain * (rows >= cols ? q[r * m + c]! : q[c * m + r]!);
    }
  }
  return out;
}

export function initWeights(model: ModelConfig, inputDim: number, seed: number): LstmWeights {
  const u = model.units;
  const rng = createRng(deriveSeed(seed, 'weights'));
  const kernel = initMatrix(model.kernelInitializer, inputDim, 4 * u, model.kernelGain, rng);
  const recurrentKernel = initMatrix(model.recurrentInitializer, u, 4 * u, model.recurrentGain, rng);
  const bias = new Float32Array(4 * u);
  if (model.unitForgetBias) for (let j = u; j < 2 * u; j++) bias[j] = 1;
  const denseKernel = initMatrix('glorot_uniform', u, 1, 1, rng);
  const denseBias = new Float32Array(1);
  return { inputDim, units: u, kernel, recurrentKernel, bias, denseKernel, denseBias };
}

/**
 * The order in which train rows are visited in a given epoch (1-based): a seeded permutation
 * when shuffle is on, 0..n-1 otherwise. Both engines use it (tfjs's fit() shuffles with
 * Math.random, which cannot be seeded).
 */
export function epochOrder(nTrain: number, epoch: number, seed: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(nTrain);
  for (let i = 0; i < nTrain; i++) order[i] = i;
  if (shuffle) shuffleInPlace(order, createRng(deriveSeed(seed, `epoch:${epoch}`)));
  return order;
}

/** Batches of an epoch: consecutive slices of `epochOrder`, the last one possibly short (as Keras). */
export function batchesOf(order: Int32Array, batchSize: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.subarray(s, Math.min(order.length, s + batchSize)));
  return out;
}
