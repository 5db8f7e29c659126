/**
 * The fused engine's kernel in WebAssembly SIMD (f64x2), compiled by AssemblyScript (see
 * package.json "build:wasm"). Same model, same float64 arithmetic and the same order of every
 * sum as the plain-JS kernels in src/train/fused/ (forward.ts, backward.ts, adam.ts), which stay
 * the reference: the equality tests compare the two (test/train/fused-wasm.test.ts).
 *
 * Why the results match the JS kernels to rounding: SIMD lanes run across output columns (two
 * units of one gate), never across a reduction, so every dot product is summed in the JS order;
 * no fused multiply-add (would need a V8 flag on Node 20 and change rounding) and no float32.
 * The only difference is exp: sigmoid and tanh use range reduction plus a [6/6] Padé
 * approximant of exp folded into their one division (a few ulp from Math.exp/Math.tanh).
 *
 * Memory: one instance per trainer; `setup` lays out every buffer once after __heap_base.
 * The hot loops read every vector at a fixed offset from one pointer (derived copies RF, RB and
 * DzI): V8 compiles a computed address per load into an extra instruction.
 * Parameters are kept in a padded layout: each gate block (i, f, c, o) holds `up` = units
 * rounded up to even columns, so a vector never straddles two gates. Padding columns have zero
 * weights, which keeps their h and c at exactly 0 and their gradients at exactly 0.
 * Padded parameter vector: [kernel G | recurrent u·G | bias G | dense up | denseBias, pad],
 * G = 4·up (inputDim is 1: the fused engine's only input width).
 */

// ---- layout (byte offsets), set by setup() ----
let U: i32 = 0; // units
let UP: i32 = 0; // units padded to even
let G: i32 = 0; // 4·UP gate columns
let L: i32 = 0; // sequence length
let HARD: bool = false;
let RELU: bool = false;
let MASKING: bool = false;
let NP: i32 = 0; // padded parameter count (even)

let pParams: usize = 0;
let pGrad: usize = 0;
let pM: usize = 0;
let pV: usize = 0;
let pRF: usize = 0; // forward copy of the recurrent kernel: [UP/2][U][4 gates] vectors
let pRB: usize = 0; // backward copy: [UP/2][U][4 gates] vectors (units k, k+1 of column gate·UP+m), pairs after K5
let pRB5: usize = 0; // dh copy for full chunks of 5 unit pairs: [chunk][4 gates][U][5 pairs] vectors
let NC5: i32 = 0; // full 5-pair chunks
let K5: i32 = 0; // units covered by them (10·NC5)
let pDzI: usize = 0; // dz of the current step, unit-major: [UP][4 gates] (for the pairs after K5)
let pBW: usize = 0; // bias + kernel: z before the recurrent sum when x = 1
let pZX: usize = 0; // bias + x·kernel for the current step's input x ≠ 1
let pAct: usize = 0; // [L][G] activated gates
let pCs: usize = 0; // [(L+1)][UP]
let pHs: usize = 0; // [(L+1)][UP]
let pTcs: usize = 0; // [L][UP]
let pDz: usize = 0; // [L][G]
let pXs: usize = 0; // [L] f64: input of stored step s
let pDh: usize = 0; // [UP]
let pDc: usize = 0; // [UP]
let pInj: usize = 0; // [L+1] f64: dLoss/dout injected after stored step m-1 (shared path)
let pTrainX: usize = 0; // [nTrain][L] f32
let pTrainY: usize = 0; // [nTrain] f32
let pRows: usize = 0; // [nTrain] i32
let pLens: usize = 0; // [nTrain] i32: scratch (shared path)
let heapTop: usize = 0;

// offsets of parameter blocks, in doubles
let oW: i32 = 0;
let oR: i32 = 0;
let oB: i32 = 0;
let oD: i32 = 0;
let oDB: i32 = 0;

let lastMae: f64 = 0;
let nStored: i32 = 0;
let lastOut: f64 = 0;

function alignUp(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

function bump(bytes: usize): usize {
  const p = heapTop;
  heapTop = alignUp(heapTop + bytes);
  const need = <i32>((heapTop + 0xffff) >>> 16);
  const have = memory.size();
  if (need > have) {
    if (memory.grow(need - have) < 0) unreachable();
  }
  return p;
}

/** Lays out every buffer; returns 0. Must be called once, before anything else. */
export function setup(units: i32, seqLen: i32, hard: i32, relu: i32, masking: i32, nTrain: i32): i32 {
  U = units;
  UP = (units + 1) & ~1;
  G = 4 * UP;
  L = seqLen;
  HARD = hard != 0;
  RELU = relu != 0;
  MASKING = masking != 0;
  oW = 0;
  oR = G;
  oB = oR + U * G;
  oD = oB + G;
  oDB = oD + UP;
  NP = (oDB + 2) & ~1;
  heapTop = alignUp(__heap_base);
  const np = <usize>NP << 3;
  pParams = bump(np);
  pGrad = bump(np);
  pM = bump(np);
  pV = bump(np);
  pRF = bump(<usize>(UP * U) << 5);
  pRB = bump(<usize>(UP * U) << 5);
  NC5 = UP / 10;
  K5 = NC5 * 10;
  pRB5 = bump(<usize>(NC5 * 4 * U * 5) << 4);
  pDzI = bump(<usize>UP << 5);
  pBW = bump(<usize>G << 3);
  pZX = bump(<usize>G << 3);
  pAct = bump(<usize>(L * G) << 3);
  pCs = bump(<usize>((L + 1) * UP) << 3);
  pHs = bump(<usize>((L + 1) * UP) << 3);
  pTcs = bump(<usize>(L * UP) << 3);
  pDz = bump(<usize>(L * G) << 3);
  pXs = bump(<usize>L << 3);
  pDh = bump(<usize>UP << 3);
  pDc = bump(<usize>UP << 3);
  pInj = bump(<usize>(L + 1) << 3);
  pTrainX = bump(<usize>(nTrain * L) << 2);
  pTrainY = bump(<usize>nTrain << 2);
  pRows = bump(<usize>nTrain << 2);
  pLens = bump(<usize>nTrain << 2);
  return 0;
}

export function paramsPtr(): usize { return pParams; }
export function gradPtr(): usize { return pGrad; }
export function mPtr(): usize { return pM; }
export function vPtr(): usize { return pV; }
export function trainXPtr(): usize { return pTrainX; }
export function trainYPtr(): usize { return pTrainY; }
export function rowsPtr(): usize { return pRows; }
export function paramCount(): i32 { return NP; }
export function maeOfLastBatch(): f64 { return lastMae; }

/** Scratch for evaluation inputs and outputs; memory may grow (JS views must be re-made). */
export function alloc(bytes: usize): usize {
  return bump(bytes);
}

// ---- sigmoid, tanh, hard sigmoid on two lanes ----

// Clamps use pmin/pmax (one minpd/maxpd each in V8; min/max are long sequences for their
// NaN and −0 rules) with the argument first: pmin(x, c) = c < x ? c : x, so a NaN x stays NaN.

// [6/6] Padé approximant of exp(r) = P(r)/Q(r), P = E + O, Q = E − O, |r| ≤ ln2/2:
// truncation error ~1e-19 relative, far below one ulp.
const C1: f64 = 0.5;
const C2: f64 = 5.0 / 44.0;
const C3: f64 = 1.0 / 66.0;
const C4: f64 = 1.0 / 792.0;
const C5: f64 = 1.0 / 15840.0;
const C6: f64 = 1.0 / 665280.0;
const LOG2E: f64 = 1.4426950408889634;
// Cody–Waite split of ln 2: LN2_HI has 32 trailing zero bits, so n·LN2_HI is exact.
const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
// 1.5·2^52: adding it to an integer-valued double leaves that integer in the low mantissa bits.
const MAGIC: f64 = 6755399441055744.0;
// Math.exp(x) is +Infinity above this (ln of the largest double).
const EXP_OVERFLOW: f64 = 709.782712893384;

// @ts-ignore: decorator
@inline function pow2(nf: v128): v128 {
  const t = f64x2.add(nf, f64x2.splat(MAGIC));
  return i64x2.shl(i64x2.add(t, i64x2.splat(1023)), 52);
}

/** r = a − n·ln2 in two parts (Cody–Waite), for nf = n = round(a/ln2). */
// @ts-ignore: decorator
@inline function reduced(a: v128, nf: v128): v128 {
  return f64x2.sub(f64x2.sub(a, f64x2.mul(nf, f64x2.splat(LN2_HI))), f64x2.mul(nf, f64x2.splat(LN2_LO)));
}

/** E(r) = 1 + C2·r² + C4·r⁴ + C6·r⁶, the even part of the Padé numerator, from r2 = r². */
// @ts-ignore: decorator
@inline function padeEven(r2: v128): v128 {
  return f64x2.add(
    f64x2.splat(1.0),
    f64x2.mul(r2, f64x2.add(f64x2.splat(C2), f64x2.mul(r2, f64x2.add(f64x2.splat(C4), f64x2.mul(r2, f64x2.splat(C6)))))),
  );
}

/** O(r) = r·(C1 + C3·r² + C5·r⁴), the odd part: exp(r) ≈ (E + O)/(E − O). */
// @ts-ignore: decorator
@inline function padeOdd(r: v128, r2: v128): v128 {
  return f64x2.mul(r, f64x2.add(f64x2.splat(C1), f64x2.mul(r2, f64x2.add(f64x2.splat(C3), f64x2.mul(r2, f64x2.splat(C5))))));
}

// sigmoid and tanh are written as stages (pre → nearest → reduced → Padé → post) so that the
// activation loops can interleave independent vectors stage by stage (gates4, and two cells in
// lstmStep): one activation is a chain of ~30 dependent operations, and the CPU's scheduler holds
// too few of them at once to overlap chains that follow one another in program order. Same
// operations on the same operands, so the same bits; the forward pass measured ~10 % faster.

/** sigmoid's argument: z clamped to ±708, which keeps 2^(−n) a normal number. */
// @ts-ignore: decorator
@inline function sigPre(z: v128): v128 {
  return f64x2.pmin(f64x2.pmax(z, f64x2.splat(-708.0)), f64x2.splat(708.0));
}

/** tanh's argument: 2a, a = |z| clamped to 20 (tanh(20) is 1 in float64). */
// @ts-ignore: decorator
@inline function tanhPre(z: v128): v128 {
  return f64x2.mul(f64x2.pmin(f64x2.abs(z), f64x2.splat(20.0)), f64x2.splat(2.0));
}

/** n = round(a/ln2), as a double. */
// @ts-ignore: decorator
@inline function nearestN(a: v128): v128 {
  return f64x2.nearest(f64x2.mul(a, f64x2.splat(LOG2E)));
}

/**
 * 1/(1+exp(−z)) from a = sigPre(z), n = round(a/ln2), r = a − n·ln2 and the Padé parts E, O of
 * exp(r): exp(−z) = 2^(−n)·exp(−r), exp(−r) ≈ (E − O)/(E + O), so the result is Q/(Q + 2^(−n)·P)
 * with P = E − O, Q = E + O. Every operation mirrors the one on −z, so this equals
 * activations.ts's sigmoid bit for bit. Below z = −708 the result is held at 3.3e-308 (the exact
 * value is smaller still) until exp(−z) overflows (z < −709.78), where it is 0 as
 * 1/(1+Math.exp(−z)) gives; above z = 708 it is 1 to the last bit either way. NaN stays NaN.
 */
// @ts-ignore: decorator
@inline function sigPost(z: v128, nf: v128, e: v128, o: v128): v128 {
  const p = f64x2.sub(e, o);
  const q = f64x2.add(e, o);
  // 2^(−n): MAGIC − n leaves −n in the low mantissa bits, exactly as pow2 does for n.
  const s = i64x2.shl(i64x2.add(f64x2.sub(f64x2.splat(MAGIC), nf), i64x2.splat(1023)), 52);
  const res = f64x2.div(q, f64x2.add(q, f64x2.mul(s, p)));
  // lt is false for NaN.
  return v128.andnot(res, f64x2.lt(z, f64x2.splat(-EXP_OVERFLOW)));
}

/**
 * tanh(z) = sign(z)·(e^{2a} − 1)/(e^{2a} + 1), a = |z|, e^{2a} = s·P/Q with s = 2^n: written as
 * ((s−1)E + (s+1)O)/((s+1)E + (s−1)O), which for n = 0 is O/E, free of the cancellation that
 * 1 − 2/(1+e^{2a}) has near 0.
 */
// @ts-ignore: decorator
@inline function tanhPost(z: v128, nf: v128, e: v128, o: v128): v128 {
  const s = pow2(nf);
  const sm1 = f64x2.sub(s, f64x2.splat(1.0));
  const sp1 = f64x2.add(s, f64x2.splat(1.0));
  const num = f64x2.add(f64x2.mul(sm1, e), f64x2.mul(sp1, o));
  const den = f64x2.add(f64x2.mul(sp1, e), f64x2.mul(sm1, o));
  return v128.or(f64x2.div(num, den), v128.and(z, i64x2.splat(0x8000000000000000)));
}

// @ts-ignore: decorator
@inline function sigmoid2(z: v128): v128 {
  const a = sigPre(z);
  const nf = nearestN(a);
  const r = reduced(a, nf);
  const r2 = f64x2.mul(r, r);
  return sigPost(z, nf, padeEven(r2), padeOdd(r, r2));
}

// @ts-ignore: decorator
@inline function tanh2(z: v128): v128 {
  const a = tanhPre(z);
  const nf = nearestN(a);
  const r = reduced(a, nf);
  const r2 = f64x2.mul(r, r);
  return tanhPost(z, nf, padeEven(r2), padeOdd(r, r2));
}

/** The four gates of one unit pair at p (i, f, g, o blocks gb bytes apart), interleaved. */
// @ts-ignore: decorator
@inline function gates4(p: usize, gb: usize): void {
  const zi = v128.load(p);
  const zf = v128.load(p + gb);
  const zg = v128.load(p + 2 * gb);
  const zo = v128.load(p + 3 * gb);
  const ai = sigPre(zi);
  const af = sigPre(zf);
  const ag = tanhPre(zg);
  const ao = sigPre(zo);
  const ni = nearestN(ai);
  const nf = nearestN(af);
  const ng = nearestN(ag);
  const no = nearestN(ao);
  const ri = reduced(ai, ni);
  const rf = reduced(af, nf);
  const rg = reduced(ag, ng);
  const ro = reduced(ao, no);
  const si = f64x2.mul(ri, ri);
  const sf = f64x2.mul(rf, rf);
  const sg = f64x2.mul(rg, rg);
  const so = f64x2.mul(ro, ro);
  const ei = padeEven(si);
  const ef = padeEven(sf);
  const eg = padeEven(sg);
  const eo = padeEven(so);
  const oi = padeOdd(ri, si);
  const odf = padeOdd(rf, sf);
  const og = padeOdd(rg, sg);
  const oo = padeOdd(ro, so);
  v128.store(p, sigPost(zi, ni, ei, oi));
  v128.store(p + gb, sigPost(zf, nf, ef, odf));
  v128.store(p + 2 * gb, tanhPost(zg, ng, eg, og));
  v128.store(p + 3 * gb, sigPost(zo, no, eo, oo));
}

/** clip(0.2z + 0.5, 0, 1), as forward.ts computes it. */
// @ts-ignore: decorator
@inline function hardSigmoid2(z: v128): v128 {
  const g = f64x2.add(f64x2.mul(f64x2.splat(0.2), z), f64x2.splat(0.5));
  return f64x2.pmin(f64x2.pmax(g, f64x2.splat(0.0)), f64x2.splat(1.0));
}

// @ts-ignore: decorator
@inline function gate2(z: v128): v128 {
  return HARD ? hardSigmoid2(z) : sigmoid2(z);
}

/** Scalar sigmoid and tanh through the same vector code, for tests of their accuracy. */
export function sigmoidApprox(x: f64): f64 {
  return f64x2.extract_lane(sigmoid2(f64x2.splat(x)), 0);
}
export function tanhApprox(x: f64): f64 {
  return f64x2.extract_lane(tanh2(f64x2.splat(x)), 0);
}

// ---- parameter maintenance ----

/**
 * Rebuild the derived copies of the parameters: RF and RB (the recurrent kernel laid out so the
 * four gate vectors an inner loop reads per unit sit side by side, at fixed offsets from one
 * pointer: the loops then need no address arithmetic per load) and BW = bias + kernel.
 */
/** (R[k][j], R[k+1][j]) from the recurrent kernel at r0, with 0 for a padding unit k+1 = U. */
// @ts-ignore: decorator
@inline function rowPair(r0: usize, k: i32, j: i32): v128 {
  const lo = load<f64>(r0 + (<usize>(k * G + j) << 3));
  const hi = k + 1 < U ? load<f64>(r0 + (<usize>((k + 1) * G + j) << 3)) : 0.0;
  return f64x2.replace_lane(f64x2.splat(lo), 1, hi);
}

export function syncDerived(): void {
  const r0 = pParams + (<usize>oR << 3);
  // RF[kp][m][g] = R[m][g·UP + 2kp .. +1]: the forward sums' four loads per m at fixed offsets.
  let f = pRF;
  for (let k = 0; k < UP; k += 2) {
    for (let m = 0; m < U; m++) {
      const row = r0 + (<usize>(m * G + k) << 3);
      for (let g = 0; g < 4; g++) {
        v128.store(f, v128.load(row + (<usize>(g * UP) << 3)));
        f += 16;
      }
    }
  }
  // RB[kp][m][g] = (R[2kp][g·UP+m], R[2kp+1][g·UP+m]) (0 for a padding unit): the same for dh.
  // RB only for the unit pairs after the full 5-pair chunks (RB5 covers those).
  let b = pRB + (<usize>(K5 * U) << 5);
  for (let k = K5; k < UP; k += 2) {
    for (let m = 0; m < U; m++) {
      for (let g = 0; g < 4; g++) {
        v128.store(b, rowPair(r0, k, g * UP + m));
        b += 16;
      }
    }
  }
  let b5 = pRB5;
  for (let c = 0; c < NC5; c++) {
    for (let g = 0; g < 4; g++) {
      for (let m = 0; m < U; m++) {
        for (let p = 0; p < 5; p++) {
          v128.store(b5, rowPair(r0, c * 10 + 2 * p, g * UP + m));
          b5 += 16;
        }
      }
    }
  }
  const w0 = pParams + (<usize>oW << 3);
  const b0 = pParams + (<usize>oB << 3);
  for (let j = 0; j < G; j += 2) {
    const o = <usize>j << 3;
    // forward.ts: z = b; z += x·W. For x = 1 that is b + W exactly.
    v128.store(pBW + o, f64x2.add(v128.load(b0 + o), v128.load(w0 + o)));
  }
}

/** One Adam step as adam.ts (tfjs-core's update), c1 = 1−β1^t, c2 = 1−β2^t from the caller. */
export function adamStep(lr: f64, b1: f64, b2: f64, eps: f64, c1: f64, c2: f64): void {
  const vb1 = f64x2.splat(b1);
  const vb2 = f64x2.splat(b2);
  const v1b1 = f64x2.splat(1 - b1);
  const v1b2 = f64x2.splat(1 - b2);
  const vlr = f64x2.splat(lr);
  const vc1 = f64x2.splat(c1);
  const vc2 = f64x2.splat(c2);
  const veps = f64x2.splat(eps);
  for (let i = 0; i < NP; i += 2) {
    const o = <usize>i << 3;
    const g = v128.load(pGrad + o);
    const m = f64x2.add(f64x2.mul(vb1, v128.load(pM + o)), f64x2.mul(v1b1, g));
    const v = f64x2.add(f64x2.mul(vb2, v128.load(pV + o)), f64x2.mul(f64x2.mul(v1b2, g), g));
    v128.store(pM + o, m);
    v128.store(pV + o, v);
    const step = f64x2.div(f64x2.mul(vlr, f64x2.div(m, vc1)), f64x2.add(f64x2.sqrt(f64x2.div(v, vc2)), veps));
    v128.store(pParams + o, f64x2.sub(v128.load(pParams + o), step));
  }
  syncDerived();
}

/** True when every second moment is exactly zero (no gradient has ever been non-zero). */
export function secondMomentsZero(): i32 {
  for (let i = 0; i < NP; i++) if (load<f64>(pV + (<usize>i << 3)) != 0) return 0;
  return 1;
}

// ---- forward ----

/**
 * One LSTM step from state slot s (hs/cs at s·UP) to slot s+1, storing the activations of
 * stored step s. Three passes, each over independent vectors, so the CPU overlaps iterations
 * instead of waiting on one unit's chain (sum → gate → cell → tanh → h):
 * 1. per unit pair, the four gate sums as four accumulators over the recurrent rows m, in the
 *    order forward.ts sums them (reading RF, see syncDerived), stored raw into act;
 * 2. the gate activations in place, the HARD test outside the loops; with sigmoid gates the four
 *    gates of a unit pair are computed interleaved (gates4);
 * 3. c = f·c_prev + i·g, h = o·tanh(c), two unit pairs at a time, interleaved.
 * Moving the next step's sums into pass 3, term by term as each h is ready, was measured 23 %
 * slower (the sums then go through memory).
 */
// @ts-ignore: decorator
@inline function lstmStep(s: i32, x: f64): void {
  const hPrev = pHs + (<usize>(s * UP) << 3);
  const cPrev = pCs + (<usize>(s * UP) << 3);
  const hNext = hPrev + (<usize>UP << 3);
  const cNext = cPrev + (<usize>UP << 3);
  const a0 = pAct + (<usize>(s * G) << 3);
  const tc0 = pTcs + (<usize>(s * UP) << 3);
  const gb = <usize>UP << 3; // bytes per gate block
  // z before the recurrent sums, bias + x·kernel: BW for x = 1, else computed once per step.
  let zsrc = pBW;
  if (x != 1.0) {
    const xv = f64x2.splat(x);
    const w0 = pParams + (<usize>oW << 3);
    const b0 = pParams + (<usize>oB << 3);
    for (let j = 0; j < G; j += 2) {
      const o = <usize>j << 3;
      v128.store(pZX + o, f64x2.add(v128.load(b0 + o), f64x2.mul(xv, v128.load(w0 + o))));
    }
    zsrc = pZX;
  }
  let row = pRF;
  for (let k = 0; k < UP; k += 2) {
    const zp = zsrc + (<usize>k << 3);
    let zi = v128.load(zp);
    let zf = v128.load(zp + gb);
    let zg = v128.load(zp + 2 * gb);
    let zo = v128.load(zp + 3 * gb);
    const ko = <usize>k << 3;
    let hp = hPrev;
    const hEnd = hPrev + (<usize>U << 3);
    while (hp < hEnd) {
      const hm = v128.load64_splat(hp);
      zi = f64x2.add(zi, f64x2.mul(v128.load(row), hm));
      zf = f64x2.add(zf, f64x2.mul(v128.load(row, 16), hm));
      zg = f64x2.add(zg, f64x2.mul(v128.load(row, 32), hm));
      zo = f64x2.add(zo, f64x2.mul(v128.load(row, 48), hm));
      row += 64;
      hp += 8;
    }
    v128.store(a0 + ko, zi);
    v128.store(a0 + ko + gb, zf);
    v128.store(a0 + ko + 2 * gb, zg);
    v128.store(a0 + ko + 3 * gb, zo);
  }
  if (HARD) {
    const ifEnd = a0 + 2 * gb;
    const gEnd = ifEnd + gb;
    const oEnd = gEnd + gb;
    for (let p = a0; p < ifEnd; p += 16) v128.store(p, hardSigmoid2(v128.load(p)));
    for (let p = gEnd; p < oEnd; p += 16) v128.store(p, hardSigmoid2(v128.load(p)));
    for (let p = ifEnd; p < gEnd; p += 16) v128.store(p, tanh2(v128.load(p)));
  } else {
    const end = a0 + gb;
    for (let p = a0; p < end; p += 16) {
      gates4(p, gb);
    }
  }
  // c = f·c_prev + i·g, h = o·tanh(c): two unit pairs at a time, interleaved.
  let k = 0;
  for (; k + 2 < UP; k += 4) {
    const ko = <usize>k << 3;
    const p = a0 + ko;
    const c = f64x2.add(f64x2.mul(v128.load(p + gb), v128.load(cPrev + ko)), f64x2.mul(v128.load(p), v128.load(p + 2 * gb)));
    const d = f64x2.add(f64x2.mul(v128.load(p + gb, 16), v128.load(cPrev + ko, 16)), f64x2.mul(v128.load(p, 16), v128.load(p + 2 * gb, 16)));
    const a = tanhPre(c);
    const b = tanhPre(d);
    const na = nearestN(a);
    const nb = nearestN(b);
    const ra = reduced(a, na);
    const rb = reduced(b, nb);
    const sa = f64x2.mul(ra, ra);
    const sb = f64x2.mul(rb, rb);
    const ea = padeEven(sa);
    const eb = padeEven(sb);
    const oa = padeOdd(ra, sa);
    const ob = padeOdd(rb, sb);
    const tc = tanhPost(c, na, ea, oa);
    const td = tanhPost(d, nb, eb, ob);
    v128.store(cNext + ko, c);
    v128.store(cNext + ko, d, 16);
    v128.store(hNext + ko, f64x2.mul(v128.load(p + 3 * gb), tc));
    v128.store(hNext + ko, f64x2.mul(v128.load(p + 3 * gb, 16), td), 16);
    v128.store(tc0 + ko, tc);
    v128.store(tc0 + ko, td, 16);
  }
  if (k < UP) {
    const ko = <usize>k << 3;
    const p = a0 + ko;
    const c = f64x2.add(f64x2.mul(v128.load(p + gb), v128.load(cPrev + ko)), f64x2.mul(v128.load(p), v128.load(p + 2 * gb)));
    const tc = tanh2(c);
    v128.store(cNext + ko, c);
    v128.store(hNext + ko, f64x2.mul(v128.load(p + 3 * gb), tc));
    v128.store(tc0 + ko, tc);
  }
}

function zeroState(): void {
  for (let k = 0; k < UP; k += 2) {
    v128.store(pHs + (<usize>k << 3), f64x2.splat(0));
    v128.store(pCs + (<usize>k << 3), f64x2.splat(0));
  }
}

/** Dense(1) pre-activation on hidden slot n, summed in forward.ts's order. */
function denseOut(n: i32): f64 {
  const h = pHs + (<usize>(n * UP) << 3);
  const d = pParams + (<usize>oD << 3);
  let out = load<f64>(pParams + (<usize>oDB << 3));
  for (let k = 0; k < U; k++) out += load<f64>(d + (<usize>k << 3)) * load<f64>(h + (<usize>k << 3));
  return out;
}

/** Forward over one row of f32 inputs at xPtr (L values), storing every unmasked step. */
function forwardRow(xPtr: usize): f64 {
  zeroState();
  let n = 0;
  let t = 0;
  while (t < L) {
    // Four masked steps at a time (x == 0 in f32 is x == 0 in f64, −0 included; NaN is not 0).
    if (MASKING && t + 4 <= L && !v128.any_true(f32x4.ne(v128.load(xPtr + (<usize>t << 2)), f32x4.splat(0)))) {
      t += 4;
      continue;
    }
    const x = <f64>load<f32>(xPtr + (<usize>t << 2));
    t++;
    if (MASKING && x == 0) continue;
    store<f64>(pXs + (<usize>n << 3), x);
    lstmStep(n, x);
    n++;
  }
  nStored = n;
  const out = denseOut(n);
  lastOut = out;
  // `out < 0` rather than `!(out > 0)` so a NaN output stays NaN (forward.ts).
  return RELU && out < 0 ? 0 : out;
}

/** Predictions for n rows of f32 inputs at xPtr ([n][L]) into f64 outPtr. */
export function predictRows(xPtr: usize, n: i32, outPtr: usize): void {
  for (let r = 0; r < n; r++) {
    store<f64>(outPtr + (<usize>r << 3), forwardRow(xPtr + (<usize>(r * L) << 2)));
  }
}

// ---- backward ----

/**
 * Adjoint of stored step s: reads dh, dc (dLoss/dh_{s+1}, dLoss/dc_{s+1}), writes dz of step s
 * and dc ← dLoss/dc_s; then, if s > 0, dh ← R·dz = dLoss/dh_s (backward.ts's order: one partial
 * sum per gate block, added i + f + g + o). The dh sums run over chunks of five unit pairs
 * (RB5): each dz element is broadcast once for five accumulators, one per pair, which takes a
 * fifth fewer instructions than four gate accumulators per pair. Pairs past the last full chunk
 * (K5) take the per-pair path, which reads dz unit-major (DzI: the four gates of a unit side by
 * side) so that, like RB, it loads at fixed offsets from one pointer.
 */
// @ts-ignore: decorator
@inline function backStep(s: i32): void {
  const a0 = pAct + (<usize>(s * G) << 3);
  const tc0 = pTcs + (<usize>(s * UP) << 3);
  const cPrev = pCs + (<usize>(s * UP) << 3);
  const dz0 = pDz + (<usize>(s * G) << 3);
  const gb = <usize>UP << 3;
  const one = f64x2.splat(1.0);
  for (let k = 0; k < UP; k += 2) {
    const ko = <usize>k << 3;
    const gi = v128.load(a0 + ko);
    const gf = v128.load(a0 + ko + gb);
    const gg = v128.load(a0 + ko + 2 * gb);
    const go = v128.load(a0 + ko + 3 * gb);
    const tc = v128.load(tc0 + ko);
    const dhk = v128.load(pDh + ko);
    const dO = f64x2.mul(dhk, tc);
    const dC = f64x2.add(v128.load(pDc + ko), f64x2.mul(f64x2.mul(dhk, go), f64x2.sub(one, f64x2.mul(tc, tc))));
    const dI = f64x2.mul(dC, gg);
    const dF = f64x2.mul(dC, v128.load(cPrev + ko));
    const dG = f64x2.mul(dC, gi);
    v128.store(pDc + ko, f64x2.mul(dC, gf));
    let zi: v128, zf: v128, zo: v128;
    if (HARD) {
      const lo = f64x2.splat(0.0);
      const p2 = f64x2.splat(0.2);
      zi = v128.and(v128.and(f64x2.gt(gi, lo), f64x2.lt(gi, one)), f64x2.mul(p2, dI));
      zf = v128.and(v128.and(f64x2.gt(gf, lo), f64x2.lt(gf, one)), f64x2.mul(p2, dF));
      zo = v128.and(v128.and(f64x2.gt(go, lo), f64x2.lt(go, one)), f64x2.mul(p2, dO));
    } else {
      zi = f64x2.mul(f64x2.mul(dI, gi), f64x2.sub(one, gi));
      zf = f64x2.mul(f64x2.mul(dF, gf), f64x2.sub(one, gf));
      zo = f64x2.mul(f64x2.mul(dO, go), f64x2.sub(one, go));
    }
    const zg = f64x2.mul(dG, f64x2.sub(one, f64x2.mul(gg, gg)));
    v128.store(dz0 + ko, zi);
    v128.store(dz0 + ko + gb, zf);
    v128.store(dz0 + ko + 2 * gb, zg);
    v128.store(dz0 + ko + 3 * gb, zo);
    // DzI feeds only the per-pair path (pairs past K5), which sums over every unit m.
    if (K5 == UP) continue;
    const q = pDzI + (<usize>k << 5);
    v128.store(q, v128.shuffle<f64>(zi, zf, 0, 2));
    v128.store(q, v128.shuffle<f64>(zg, zo, 0, 2), 16);
    v128.store(q, v128.shuffle<f64>(zi, zf, 1, 3), 32);
    v128.store(q, v128.shuffle<f64>(zg, zo, 1, 3), 48);
  }
  if (s > 0) {
    let rb = pRB5;
    for (let c = 0; c < NC5; c++) {
      let t0 = f64x2.splat(0);
      let t1 = f64x2.splat(0);
      let t2 = f64x2.splat(0);
      let t3 = f64x2.splat(0);
      let t4 = f64x2.splat(0);
      for (let g = 0; g < 4; g++) {
        let q = dz0 + (<usize>(g * UP) << 3);
        const qEnd = q + (<usize>U << 3);
        let a0 = f64x2.splat(0);
        let a1 = f64x2.splat(0);
        let a2 = f64x2.splat(0);
        let a3 = f64x2.splat(0);
        let a4 = f64x2.splat(0);
        while (q < qEnd) {
          const d = v128.load64_splat(q);
          a0 = f64x2.add(a0, f64x2.mul(v128.load(rb), d));
          a1 = f64x2.add(a1, f64x2.mul(v128.load(rb, 16), d));
          a2 = f64x2.add(a2, f64x2.mul(v128.load(rb, 32), d));
          a3 = f64x2.add(a3, f64x2.mul(v128.load(rb, 48), d));
          a4 = f64x2.add(a4, f64x2.mul(v128.load(rb, 64), d));
          rb += 80;
          q += 8;
        }
        // ((i + f) + g) + o, the i block's sum taken as it is (as backward.ts does).
        if (g == 0) {
          t0 = a0;
          t1 = a1;
          t2 = a2;
          t3 = a3;
          t4 = a4;
        } else {
          t0 = f64x2.add(t0, a0);
          t1 = f64x2.add(t1, a1);
          t2 = f64x2.add(t2, a2);
          t3 = f64x2.add(t3, a3);
          t4 = f64x2.add(t4, a4);
        }
      }
      const dp = pDh + (<usize>(c * 10) << 3);
      v128.store(dp, t0);
      v128.store(dp, t1, 16);
      v128.store(dp, t2, 32);
      v128.store(dp, t3, 48);
      v128.store(dp, t4, 64);
    }
    for (let k = K5; k < UP; k += 2) {
      const ko = <usize>k << 3;
      let ai = f64x2.splat(0);
      let af = f64x2.splat(0);
      let ag = f64x2.splat(0);
      let ao = f64x2.splat(0);
      let ri = pRB + (<usize>(k * U) << 5);
      let q = pDzI;
      const qEnd = pDzI + (<usize>U << 5);
      while (q < qEnd) {
        ai = f64x2.add(ai, f64x2.mul(v128.load(ri), v128.load64_splat(q)));
        af = f64x2.add(af, f64x2.mul(v128.load(ri, 16), v128.load64_splat(q, 8)));
        ag = f64x2.add(ag, f64x2.mul(v128.load(ri, 32), v128.load64_splat(q, 16)));
        ao = f64x2.add(ao, f64x2.mul(v128.load(ri, 48), v128.load64_splat(q, 24)));
        ri += 64;
        q += 32;
      }
      v128.store(pDh + ko, f64x2.add(f64x2.add(f64x2.add(ai, af), ag), ao));
    }
  }
}

// Steps per block of the deferred weight-gradient sums: the block's dz (BLOCK·G doubles) stays
// in L1 while each gradient chunk is summed in registers over it.
const BLOCK: i32 = 32;

/**
 * Adds the weight gradients of stored steps sLo ≤ s < sHi into grad, in the order backward.ts
 * adds them (s descending within the row): dR[k] += h_{s}·dz_s (only s > 0: h before the first
 * stored step is 0), dBias += dz_s, dKernel += x_s·dz_s (x_s ≠ 0). Each element's sum sees its
 * terms in the same order as in backward.ts, so the blocking changes no rounding.
 */
function accumulate(sLo: i32, sHi: i32): void {
  let hi = sHi;
  const gbytes = <usize>G << 3;
  while (hi > sLo) {
    const lo = max(sLo, hi - BLOCK);
    // recurrent kernel: four vectors (8 columns) of row k at a time; 2·UP vectors per row is a
    // multiple of 4 because UP is even.
    const sStart = max(lo, 1);
    if (hi > sStart) {
      let k = 0;
      // Two rows k, k+1 at a time share each dz load: eight accumulators.
      for (; k + 1 < U; k += 2) {
        const gRow = pGrad + (<usize>(oR + k * G) << 3);
        const gRow1 = gRow + (<usize>G << 3);
        for (let j = 0; j < G; j += 8) {
          const gp = gRow + (<usize>j << 3);
          const gq = gRow1 + (<usize>j << 3);
          let a0 = v128.load(gp);
          let a1 = v128.load(gp, 16);
          let a2 = v128.load(gp, 32);
          let a3 = v128.load(gp, 48);
          let c0 = v128.load(gq);
          let c1 = v128.load(gq, 16);
          let c2 = v128.load(gq, 32);
          let c3 = v128.load(gq, 48);
          let dzp = pDz + (<usize>((hi - 1) * G + j) << 3);
          let hp = pHs + (<usize>((hi - 1) * UP + k) << 3);
          const hStop = pHs + (<usize>((sStart - 1) * UP + k) << 3);
          while (hp != hStop) {
            const h = v128.load64_splat(hp);
            const h1 = v128.load64_splat(hp, 8);
            const d0 = v128.load(dzp);
            const d1 = v128.load(dzp, 16);
            const d2 = v128.load(dzp, 32);
            const d3 = v128.load(dzp, 48);
            a0 = f64x2.add(a0, f64x2.mul(h, d0));
            a1 = f64x2.add(a1, f64x2.mul(h, d1));
            a2 = f64x2.add(a2, f64x2.mul(h, d2));
            a3 = f64x2.add(a3, f64x2.mul(h, d3));
            c0 = f64x2.add(c0, f64x2.mul(h1, d0));
            c1 = f64x2.add(c1, f64x2.mul(h1, d1));
            c2 = f64x2.add(c2, f64x2.mul(h1, d2));
            c3 = f64x2.add(c3, f64x2.mul(h1, d3));
            dzp -= gbytes;
            hp -= <usize>UP << 3;
          }
          v128.store(gp, a0);
          v128.store(gp, a1, 16);
          v128.store(gp, a2, 32);
          v128.store(gp, a3, 48);
          v128.store(gq, c0);
          v128.store(gq, c1, 16);
          v128.store(gq, c2, 32);
          v128.store(gq, c3, 48);
        }
      }
      for (; k < U; k++) {
        const gRow = pGrad + (<usize>(oR + k * G) << 3);
        for (let j = 0; j < G; j += 8) {
          const gp = gRow + (<usize>j << 3);
          let a0 = v128.load(gp);
          let a1 = v128.load(gp, 16);
          let a2 = v128.load(gp, 32);
          let a3 = v128.load(gp, 48);
          let dzp = pDz + (<usize>((hi - 1) * G + j) << 3);
          let hp = pHs + (<usize>((hi - 1) * UP + k) << 3);
          for (let s = hi - 1; s >= sStart; s--) {
            const h = v128.load64_splat(hp);
            a0 = f64x2.add(a0, f64x2.mul(h, v128.load(dzp)));
            a1 = f64x2.add(a1, f64x2.mul(h, v128.load(dzp, 16)));
            a2 = f64x2.add(a2, f64x2.mul(h, v128.load(dzp, 32)));
            a3 = f64x2.add(a3, f64x2.mul(h, v128.load(dzp, 48)));
            dzp -= gbytes;
            hp -= <usize>UP << 3;
          }
          v128.store(gp, a0);
          v128.store(gp, a1, 16);
          v128.store(gp, a2, 32);
          v128.store(gp, a3, 48);
        }
      }
    }
    // bias and input kernel
    const gB = pGrad + (<usize>oB << 3);
    const gW = pGrad + (<usize>oW << 3);
    for (let j = 0; j < G; j += 4) {
      const jo = <usize>j << 3;
      let b0 = v128.load(gB + jo);
      let b1 = v128.load(gB + jo, 16);
      let w0 = v128.load(gW + jo);
      let w1 = v128.load(gW + jo, 16);
      let dzp = pDz + (<usize>((hi - 1) * G + j) << 3);
      for (let s = hi - 1; s >= lo; s--) {
        const d0 = v128.load(dzp);
        const d1 = v128.load(dzp, 16);
        b0 = f64x2.add(b0, d0);
        b1 = f64x2.add(b1, d1);
        const x = load<f64>(pXs + (<usize>s << 3));
        if (x != 0) {
          const xv = f64x2.splat(x);
          w0 = f64x2.add(w0, f64x2.mul(xv, d0));
          w1 = f64x2.add(w1, f64x2.mul(xv, d1));
        }
        dzp -= gbytes;
      }
      v128.store(gB + jo, b0);
      v128.store(gB + jo, b1, 16);
      v128.store(gW + jo, w0);
      v128.store(gW + jo, w1, 16);
    }
    hi = lo;
  }
}

/** dense gradient and the adjoint seed at hidden slot n: dh = dOut·dense, dc = 0. */
function seedDense(n: i32, dOut: f64): void {
  const h = pHs + (<usize>(n * UP) << 3);
  const d = pParams + (<usize>oD << 3);
  const gd = pGrad + (<usize>oD << 3);
  for (let k = 0; k < U; k++) {
    const ko = <usize>k << 3;
    store<f64>(gd + ko, load<f64>(gd + ko) + dOut * load<f64>(h + ko));
    store<f64>(pDh + ko, dOut * load<f64>(d + ko));
    store<f64>(pDc + ko, 0);
  }
  const gdb = pGrad + (<usize>oDB << 3);
  store<f64>(gdb, load<f64>(gdb) + dOut);
}

/** backward.ts's backwardRow on the row forwardRow just ran. */
function backwardRow(dPred: f64): void {
  const n = nStored;
  const dOut = RELU && !(lastOut > 0) ? 0 : dPred;
  seedDense(n, dOut);
  if (dOut == 0) return;
  for (let s = n - 1; s >= 0; s--) backStep(s);
  accumulate(0, n);
}

function zeroGrad(): void {
  for (let i = 0; i < NP; i += 2) v128.store(pGrad + (<usize>i << 3), f64x2.splat(0));
}

/**
 * backward.ts's batchGradient over rows[0..B) of the train split: grad ← d/dparams of the mean
 * squared error; returns the loss (MAE via maeOfLastBatch()).
 */
export function batchGradient(B: i32): f64 {
  zeroGrad();
  let loss: f64 = 0;
  let mae: f64 = 0;
  for (let i = 0; i < B; i++) {
    const r = load<i32>(pRows + (<usize>i << 2));
    const pred = forwardRow(pTrainX + (<usize>(r * L) << 2));
    const err = pred - <f64>load<f32>(pTrainY + (<usize>r << 2));
    loss += err * err;
    mae += abs(err);
    backwardRow((2 * err) / <f64>B);
  }
  lastMae = mae / <f64>B;
  return loss / <f64>B;
}

/** One training step: gradient of the batch in `rows`, then Adam. One call per batch. */
export function trainBatch(B: i32, lr: f64, b1: f64, b2: f64, eps: f64, c1: f64, c2: f64): f64 {
  const loss = batchGradient(B);
  adamStep(lr, b1, b2, eps, c1, c2);
  return loss;
}

// ---- shared trajectory (masking on, every unmasked step holds the same input) ----
//
// A masked step carries h and c unchanged, so a row whose unmasked steps all hold the same
// input runs the first m steps of one trajectory from the zero state (m = its unmasked step
// count; the seed's row k: m = L−k). A batch then needs one forward pass to its longest row,
// per-row Dense heads on h_m, and one backward pass through time with each row's dLoss/dh_m =
// dOut·denseKernel added where that row ends: the per-row gradient summed in another order.
// Same algorithm and order of operations as src/train/fused/shared.ts (the JS shared path).

let sharedX: f64 = 1.0;

/** The input value every unmasked step of the train rows holds (the JS side checks it). */
export function setSharedInput(x: f64): void {
  sharedX = x;
}
/** Per train row, its unmasked step count (filled by the JS side once). */
export function trainStepsPtr(): usize { return pLens; }

/** Forward over `m` steps of the constant input x from the zero state, storing every step. */
function forwardConst(x: f64, m: i32): void {
  zeroState();
  for (let s = 0; s < m; s++) {
    store<f64>(pXs + (<usize>s << 3), x);
    lstmStep(s, x);
  }
  nStored = m;
}

/**
 * The shared-trajectory batch gradient over rows[0..B) of the train split; returns the loss (MAE
 * via maeOfLastBatch()). The injections are summed into pInj (zero between calls).
 */
export function sharedBatchGradient(B: i32): f64 {
  zeroGrad();
  let longest = 0;
  for (let i = 0; i < B; i++) {
    const m = load<i32>(pLens + (<usize>load<i32>(pRows + (<usize>i << 2)) << 2));
    if (m > longest) longest = m;
  }
  forwardConst(sharedX, longest);
  let loss: f64 = 0;
  let mae: f64 = 0;
  let top = 0;
  const gd = pGrad + (<usize>oD << 3);
  const gdb = pGrad + (<usize>oDB << 3);
  for (let i = 0; i < B; i++) {
    const r = load<i32>(pRows + (<usize>i << 2));
    const m = load<i32>(pLens + (<usize>r << 2));
    const out = denseOut(m);
    const pred = RELU && out < 0 ? 0 : out;
    const err = pred - <f64>load<f32>(pTrainY + (<usize>r << 2));
    loss += err * err;
    mae += abs(err);
    const dOut = RELU && !(out > 0) ? 0 : (2 * err) / <f64>B;
    const h = pHs + (<usize>(m * UP) << 3);
    for (let k = 0; k < U; k++) {
      const ko = <usize>k << 3;
      store<f64>(gd + ko, load<f64>(gd + ko) + dOut * load<f64>(h + ko));
    }
    store<f64>(gdb, load<f64>(gdb) + dOut);
    if (dOut != 0) {
      const ip = pInj + (<usize>m << 3);
      store<f64>(ip, load<f64>(ip) + dOut);
      if (m > top) top = m;
    }
  }
  // A row of zero steps ends at the zero initial state: its adjoint reaches no parameter.
  store<f64>(pInj, 0);
  sharedBackward(top);
  lastMae = mae / <f64>B;
  return loss / <f64>B;
}

/** Backward over stored steps top−1 … 0, adding inject[s+1]·denseKernel to dh before step s. */
function sharedBackward(top: i32): void {
  for (let k = 0; k < UP; k += 2) {
    v128.store(pDh + (<usize>k << 3), f64x2.splat(0));
    v128.store(pDc + (<usize>k << 3), f64x2.splat(0));
  }
  const d = pParams + (<usize>oD << 3);
  for (let s = top - 1; s >= 0; s--) {
    const ip = pInj + (<usize>(s + 1) << 3);
    const w = load<f64>(ip);
    if (w != 0) {
      for (let k = 0; k < U; k++) {
        const ko = <usize>k << 3;
        store<f64>(pDh + ko, load<f64>(pDh + ko) + w * load<f64>(d + ko));
      }
      store<f64>(ip, 0);
    }
    backStep(s);
  }
  accumulate(0, top);
}

export function trainBatchShared(B: i32, lr: f64, b1: f64, b2: f64, eps: f64, c1: f64, c2: f64): f64 {
  const loss = sharedBatchGradient(B);
  adamStep(lr, b1, b2, eps, c1, c2);
  return loss;
}

/**
 * Outputs of n rows sharing one trajectory of constant input x, row i ending after steps[i]
 * (i32 at stepsPtr): one forward pass to the longest, a Dense head per row (into f64 outPtr).
 */
export function predictShared(x: f64, stepsPtr: usize, n: i32, outPtr: usize): void {
  let longest = 0;
  for (let i = 0; i < n; i++) longest = max(longest, load<i32>(stepsPtr + (<usize>i << 2)));
  forwardConst(x, longest);
  for (let i = 0; i < n; i++) {
    const out = denseOut(load<i32>(stepsPtr + (<usize>i << 2)));
    store<f64>(outPtr + (<usize>i << 3), RELU && out < 0 ? 0 : out);
  }
}

/**
 * population.ts's populationOutputs: the output for every population row k = 0..L (k zeros,
 * then ones) into f64 outPtr. Masking on: one forward pass of length L, row k's output is the
 * head on h after L−k steps. Masking off: each row on its own (zeros enter the LSTM), its input
 * written into rowPtr (L f32 of scratch).
 */
export function populationOutputs(outPtr: usize, rowPtr: usize): void {
  if (MASKING) {
    forwardConst(1.0, L);
    for (let k = 0; k <= L; k++) {
      const out = denseOut(L - k);
      store<f64>(outPtr + (<usize>k << 3), RELU && out < 0 ? 0 : out);
    }
    return;
  }
  for (let k = 0; k <= L; k++) {
    for (let t = 0; t < L; t++) store<f32>(rowPtr + (<usize>t << 2), t < k ? <f32>0 : <f32>1);
    store<f64>(outPtr + (<usize>k << 3), forwardRow(rowPtr));
  }
}
