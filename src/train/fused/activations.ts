/**
 * The logistic sigmoid and tanh of the fused kernels, written operation for operation as the
 * WebAssembly kernel computes them on two lanes (assembly/fused-kernel.ts: sigmoid2, tanh2), so
 * the JS and wasm kernels give bitwise the same numbers.
 *
 * Why not Math.exp/Math.tanh: batch-1 Adam training is chaotic. Moving one initial weight by one
 * ulp changes the validation MAE by ~1e-5 after 10 epochs on the seed cell (the JS kernel
 * against itself), so two kernels whose exp differ by a few ulp cannot give the same final
 * metrics over 50 epochs; sharing these definitions makes them identical. Each is within 4 ulp
 * of 1/(1+Math.exp(−x)) and Math.tanh (test/train/fused-wasm.test.ts), far inside everything the
 * tfjs equality tests resolve (tfjs computes in float32).
 *
 * exp(a) = 2^n·P(r)/Q(r): a = n·ln2 + r, |r| ≤ ln2/2 (Cody–Waite split of ln2), and P/Q the
 * [6/6] Padé approximant of exp (truncation error ~1e-19 relative), P = E + O, Q = E − O.
 */
const C1 = 0.5;
const C2 = 5.0 / 44.0;
const C3 = 1.0 / 66.0;
const C4 = 1.0 / 792.0;
const C5 = 1.0 / 15840.0;
const C6 = 1.0 / 665280.0;
const LOG2E = 1.4426950408889634;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1.5·2^52: (t + MAGIC) − MAGIC rounds t to the nearest integer, ties to even (wasm's nearest). */
const MAGIC = 6755399441055744.0;
/** Math.exp(x) is +Infinity above this. */
const EXP_OVERFLOW = 709.782712893384;

/** 2^n for integer n in [−1022, 1023], built from its bits as the wasm kernel builds it. */
const POW2 = (() => {
  const t = new Float64Array(2046);
  const view = new DataView(new ArrayBuffer(8));
  for (let n = -1022; n <= 1023; n++) {
    view.setUint32(0, (n + 1023) << 20);
    view.setUint32(4, 0);
    t[n + 1022] = view.getFloat64(0);
  }
  return t;
})();

/** 1/(1+exp(−z)) = Q/(Q + 2^n·P) with −z = n·ln2 + r. */
export function sigmoid(z: number): number {
  const nz = -z;
  // Clamped so 2^n stays normal; a NaN passes both comparisons unchanged.
  let a = nz < -708.0 ? -708.0 : nz;
  a = 708.0 < a ? 708.0 : a;
  const nf = a * LOG2E + MAGIC - MAGIC;
  const r = a - nf * LN2_HI - nf * LN2_LO;
  const r2 = r * r;
  const e = 1.0 + r2 * (C2 + r2 * (C4 + r2 * C6));
  const o = r * (C1 + r2 * (C3 + r2 * C5));
  const p = e + o;
  const q = e - o;
  const res = q / (q + POW2[nf + 1022]! * p);
  // Where exp(−z) overflows, 1/(1+exp(−z)) is 0.
  return nz > EXP_OVERFLOW ? 0 : res;
}

/**
 * tanh(z) = sign(z)·(e^{2a} − 1)/(e^{2a} + 1) with a = |z| and e^{2a} = s·P/Q, s = 2^n, written
 * ((s−1)E + (s+1)O)/((s+1)E + (s−1)O): for n = 0 that is O/E, free of the cancellation near 0.
 */
export function tanh(z: number): number {
  const az = Math.abs(z);
  // tanh(20) is 1 in float64.
  const a = (20.0 < az ? 20.0 : az) * 2.0;
  const nf = a * LOG2E + MAGIC - MAGIC;
  const r = a - nf * LN2_HI - nf * LN2_LO;
  const r2 = r * r;
  const e = 1.0 + r2 * (C2 + r2 * (C4 + r2 * C6));
  const o = r * (C1 + r2 * (C3 + r2 * C5));
  const s = POW2[nf + 1022]!;
  const sm1 = s - 1.0;
  const sp1 = s + 1.0;
  const res = (sm1 * e + sp1 * o) / (sp1 * e + sm1 * o);
  // res >= 0 (or NaN); the sign is z's, −0 included.
  return z < 0 || (z === 0 && 1 / z < 0) ? -res : res;
}
