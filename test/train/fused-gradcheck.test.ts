import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adamStep } from '../../src/train/fused/adam';
import { batchGradient } from '../../src/train/fused/backward';
import { FusedNet, predictRow, syncTransposed } from '../../src/train/fused/forward';
import { chooseKernel } from '../../src/train/fused/kernel';
import { createRng } from '../../src/util/rng';

/**
 * Finite-difference check of the fused backward pass. The kernels compute in float64, so the
 * check runs on the production code itself: central differences with step H = 1e-6 have
 * truncation error O(H²) ≈ 1e-12 and rounding error ≈ 1e-16/H = 1e-10, hence the tolerance
 * |analytic − numeric| ≤ 1e-6·max(|analytic|, |numeric|) + 1e-9.
 */
const H = 1e-6;
const REL = 1e-6;
const ABS = 1e-9;

const SEQ = 12;
const UNITS = 4;

interface Case {
  hardSigmoid: boolean;
  masking: boolean;
  relu: boolean;
}

/**
 * Rows exercising every masking path: leading zeros (the seed's data), zeros in the middle
 * (a general mask), a row with no zeros, and a row of only zeros. Values other than 1 so the
 * input kernel's gradient is not just a count.
 */
function makeRows(): { x: Float32Array; y: Float32Array; n: number } {
  const rows = [
    [0, 0, 0, 0, 0.5, 1, 1, 0.8, 1, 1, 1, 1],
    [0.3, 1, 0, 0, 1, 0.7, 0, 1, 1, 0.9, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.6],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  ];
  const x = new Float32Array(rows.length * SEQ);
  rows.forEach((r, i) => x.set(r, i * SEQ));
  const y = Float32Array.from([0.6, 0.1, 0.9, 0.2]);
  return { x, y, n: rows.length };
}

function makeNet(c: Case, seed: number): FusedNet {
  const net = new FusedNet({ inputDim: 1, units: UNITS, seqLen: SEQ, ...c });
  const rng = createRng(seed);
  // Weights large enough that gates leave the linear region (and hard_sigmoid, which clips
  // only beyond |z| = 2.5, clips some), small enough that not everything saturates.
  const scale = c.hardSigmoid ? 2.5 : 1.2;
  for (let i = 0; i < net.params.length; i++) net.params[i] = (rng.next() * 2 - 1) * scale;
  // relu in its active region: a positive output for every row, checked below.
  net.params[net.layout.denseBias] = 1.5;
  syncTransposed(net);
  return net;
}

function batchLoss(net: FusedNet, x: Float32Array, y: Float32Array, n: number): number {
  let s = 0;
  for (let r = 0; r < n; r++) {
    const e = predictRow(net, x, r * SEQ) - y[r]!;
    s += e * e;
  }
  return s / n;
}

/**
 * Smallest distance of any hard_sigmoid pre-activation 0.2z + 0.5 from its kinks 0 and 1,
 * and how many gates were clipped, recomputed from the stored states so the finite difference
 * is known not to straddle a kink.
 */
function kinkMargin(net: FusedNet, x: Float32Array, n: number): { margin: number; clipped: number } {
  const u = net.units;
  const g = 4 * u;
  const p = net.params;
  const lay = net.layout;
  let margin = Infinity;
  let clipped = 0;
  for (let r = 0; r < n; r++) {
    // An independent re-implementation of the forward recursion, to see every pre-activation.
    const hs: number[][] = [new Array<number>(u).fill(0)];
    const cs: number[][] = [new Array<number>(u).fill(0)];
    for (let t = 0; t < SEQ; t++) {
      const xv = x[r * SEQ + t]!;
      if (net.masking && xv === 0) continue;
      const h = hs[hs.length - 1]!;
      const c = cs[cs.length - 1]!;
      const z = new Array<number>(g);
      for (let j = 0; j < g; j++) {
        let s = p[lay.bias + j]! + xv * p[lay.kernel + j]!;
        for (let k = 0; k < u; k++) s += h[k]! * p[lay.recurrent + k * g + j]!;
        z[j] = s;
      }
      const hsig = (v: number): number => {
        const y = 0.2 * v + 0.5;
        if (y <= 0 || y >= 1) clipped++;
        margin = Math.min(margin, Math.abs(y), Math.abs(y - 1));
        return Math.min(1, Math.max(0, y));
      };
      const nh = new Array<number>(u);
      const nc = new Array<number>(u);
      for (let k = 0; k < u; k++) {
        const i = hsig(z[k]!);
        const f = hsig(z[u + k]!);
        const o = hsig(z[3 * u + k]!);
        nc[k] = f * c[k]! + i * Math.tanh(z[2 * u + k]!);
        nh[k] = o * Math.tanh(nc[k]!);
      }
      hs.push(nh);
      cs.push(nc);
    }
  }
  return { margin, clipped };
}

const TENSORS = ['kernel', 'recurrent', 'bias', 'dense', 'denseBias'] as const;

function tensorRange(net: FusedNet, name: (typeof TENSORS)[number]): [number, number] {
  const l = net.layout;
  switch (name) {
    case 'kernel':
      return [l.kernel, l.recurrent];
    case 'recurrent':
      return [l.recurrent, l.bias];
    case 'bias':
      return [l.bias, l.dense];
    case 'dense':
      return [l.dense, l.denseBias];
    case 'denseBias':
      return [l.denseBias, l.size];
  }
}

function checkGradient(c: Case): void {
  const net = makeNet(c, 7 + (c.hardSigmoid ? 1 : 0) + (c.masking ? 2 : 0));
  const { x, y, n } = makeRows();
  const rows = Int32Array.from({ length: n }, (_, i) => i);

  if (c.relu) {
    for (let r = 0; r < n; r++) {
      predictRow(net, x, r * SEQ);
      assert.ok(net.out > 1e-3, `row ${r}: relu must be in its active region, output ${net.out}`);
    }
  }
  if (c.hardSigmoid) {
    const { margin, clipped } = kinkMargin(net, x, n);
    assert.ok(margin > 1e-4, `a hard_sigmoid input is ${margin} from a kink; the difference would straddle it`);
    assert.ok(clipped > 0, 'no gate was clipped: the zero-gradient branch would go untested');
  }

  batchGradient(net, x, y, rows);
  const analytic = Float64Array.from(net.grad);
  for (const name of TENSORS) {
    const [a, b] = tensorRange(net, name);
    let nonZero = 0;
    for (let i = a; i < b; i++) {
      const keep = net.params[i]!;
      net.params[i] = keep + H;
      syncTransposed(net);
      const up = batchLoss(net, x, y, n);
      net.params[i] = keep - H;
      syncTransposed(net);
      const down = batchLoss(net, x, y, n);
      net.params[i] = keep;
      syncTransposed(net);
      const numeric = (up - down) / (2 * H);
      const an = analytic[i]!;
      if (an !== 0) nonZero++;
      const tol = REL * Math.max(Math.abs(an), Math.abs(numeric)) + ABS;
      assert.ok(
        Math.abs(an - numeric) <= tol,
        `${name}[${i - a}]: analytic ${an} vs numeric ${numeric} (|diff| ${Math.abs(an - numeric)} > ${tol})`,
      );
    }
    assert.ok(nonZero > 0, `${name}: every gradient is 0, the check would prove nothing`);
  }
}

describe('fused backward pass against finite differences (float64, rel 1e-6 + abs 1e-9)', () => {
  for (const hardSigmoid of [false, true]) {
    for (const masking of [true, false]) {
      const act = hardSigmoid ? 'hard_sigmoid' : 'sigmoid';
      test(`the gradient of every weight tensor matches with ${act} gates, masking ${masking ? 'on' : 'off'} and a relu output`, () => {
        checkGradient({ hardSigmoid, masking, relu: true });
      });
    }
    test(`the gradient matches with ${hardSigmoid ? 'hard_sigmoid' : 'sigmoid'} gates and a linear output`, () => {
      checkGradient({ hardSigmoid, masking: true, relu: false });
    });
  }

  test('a dead relu output sends back exactly zero gradient, like the finite difference', () => {
    const net = makeNet({ hardSigmoid: false, masking: true, relu: true }, 3);
    net.params[net.layout.denseBias] = -50;
    const { x, y, n } = makeRows();
    const m = batchGradient(net, x, y, Int32Array.from({ length: n }, (_, i) => i));
    assert.ok(net.grad.every((g) => g === 0));
    // Every prediction is 0, so the loss is mean(y²).
    const expected = Array.from(y).reduce((s, v) => s + v * v, 0) / n;
    assert.ok(Math.abs(m.loss - expected) < 1e-7);
  });

  test('masked steps carry h and c: an all-zero row outputs relu(dense bias) and moves no LSTM weight', () => {
    const net = makeNet({ hardSigmoid: false, masking: true, relu: true }, 5);
    const x = new Float32Array(SEQ);
    const y = Float32Array.from([0.25]);
    const m = batchGradient(net, x, y, Int32Array.of(0));
    assert.equal(net.nSteps, 0);
    assert.ok(Math.abs(m.loss - (1.5 - 0.25) ** 2) < 1e-12);
    const lay = net.layout;
    for (let i = 0; i < lay.dense; i++) assert.equal(net.grad[i], 0);
    assert.ok(Math.abs(net.grad[lay.denseBias]! - 2 * (1.5 - 0.25)) < 1e-12);
  });
});

/**
 * The same check on the default kernel (the WebAssembly SIMD one unless CONVERGE_KERNEL=js):
 * its own gradient against central differences of its own predictions, on the same weights.
 */
function checkDefaultKernel(c: Case): void {
  const ref = makeNet(c, 7 + (c.hardSigmoid ? 1 : 0) + (c.masking ? 2 : 0));
  const { x, y, n } = makeRows();
  const kernel = chooseKernel().kernel;
  assert.equal(kernel.backend, process.env.CONVERGE_KERNEL?.startsWith('js') ? 'fused-js' : 'fused-wasm-simd');
  const net = kernel.createNet({ inputDim: 1, units: UNITS, seqLen: SEQ, ...c }, x, y);
  const params = Float64Array.from(ref.params);
  net.setParams(params);
  const out = new Float64Array(n);
  const loss = (): number => {
    net.predict(x, n, out);
    let s = 0;
    for (let r = 0; r < n; r++) s += (out[r]! - y[r]!) ** 2;
    return s / n;
  };
  net.batchGradient(Int32Array.from({ length: n }, (_, i) => i));
  const analytic = net.getGradient();
  let nonZero = 0;
  for (let i = 0; i < params.length; i++) {
    const keep = params[i]!;
    params[i] = keep + H;
    net.setParams(params);
    const up = loss();
    params[i] = keep - H;
    net.setParams(params);
    const down = loss();
    params[i] = keep;
    net.setParams(params);
    const numeric = (up - down) / (2 * H);
    const an = analytic[i]!;
    if (an !== 0) nonZero++;
    const tol = REL * Math.max(Math.abs(an), Math.abs(numeric)) + ABS;
    assert.ok(Math.abs(an - numeric) <= tol, `param ${i}: analytic ${an} vs numeric ${numeric}`);
  }
  assert.ok(nonZero > params.length / 2, `only ${nonZero} of ${params.length} gradients are non-zero`);
}

describe('the default fused kernel against finite differences (float64, rel 1e-6 + abs 1e-9)', () => {
  for (const hardSigmoid of [false, true]) {
    for (const masking of [true, false]) {
      for (const relu of [true, false]) {
        test(`every parameter's gradient matches with ${hardSigmoid ? 'hard_sigmoid' : 'sigmoid'} gates, masking ${masking ? 'on' : 'off'} and a ${relu ? 'relu' : 'linear'} output`, () => {
          checkDefaultKernel({ hardSigmoid, masking, relu });
        });
      }
    }
  }
});

describe('fused Adam', () => {
  test('two steps match the hand-computed tfjs-core Adam update', () => {
    // lr 0.01, β1 0.9, β2 0.999, ε 1e-7; w = [1, −0.5]; g1 = [0.1, −0.2]; g2 = [0.05, 0.3].
    // Step 1: m = 0.1·g = [0.01, −0.02]; v = 0.001·g² = [1e-5, 4e-5]; m̂ = m/0.1 = g,
    //   v̂ = v/0.001 = g², so w −= 0.01·g/(|g| + 1e-7):
    //   w0 = 1 − 0.01·0.1/0.1000001 = 0.99000000999999000001
    //   w1 = −0.5 + 0.01·0.2/0.2000001 = −0.49000000499999750000
    // Step 2: m = 0.9·m + 0.1·g2 = [0.014, 0.012]; v = 0.999·v + 0.001·g2² = [1.249e-5, 1.2996e-4];
    //   1−β1² = 0.19, 1−β2² = 0.001999; m̂ = [0.0736842105263158, 0.0631578947368421];
    //   sqrt(v̂) = [0.0790450761403328, 0.2549755012802731];
    //   w0 = 0.99000000999999 − 0.01·0.0736842105263158/(0.0790450761403328 + 1e-7) = 0.98067822540487435
    //   w1 = −0.4900000049999975 − 0.01·0.0631578947368421/(0.2549755012802731 + 1e-7) = −0.49247702218986650
    const cfg = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const w = Float64Array.of(1, -0.5);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    adamStep(w, Float64Array.of(0.1, -0.2), m, v, 1, cfg);
    assert.ok(Math.abs(w[0]! - 0.99000000999999) < 1e-14);
    assert.ok(Math.abs(w[1]! - -0.4900000049999975) < 1e-14);
    adamStep(w, Float64Array.of(0.05, 0.3), m, v, 2, cfg);
    assert.ok(Math.abs(m[0]! - 0.014) < 1e-15 && Math.abs(m[1]! - 0.012) < 1e-15);
    assert.ok(Math.abs(v[0]! - 1.249e-5) < 1e-18 && Math.abs(v[1]! - 1.2996e-4) < 1e-18);
    assert.ok(Math.abs(w[0]! - 0.98067822540487435) < 1e-14, `w0 = ${w[0]}`);
    assert.ok(Math.abs(w[1]! - -0.4924770221898665) < 1e-14, `w1 = ${w[1]}`);
  });

  test('a zero gradient still moves a weight by the momentum, as in tfjs', () => {
    const cfg = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const w = Float64Array.of(0);
    const m = new Float64Array(1);
    const v = new Float64Array(1);
    adamStep(w, Float64Array.of(1), m, v, 1, cfg);
    const after1 = w[0]!;
    adamStep(w, Float64Array.of(0), m, v, 2, cfg);
    assert.ok(w[0]! < after1);
  });
});
