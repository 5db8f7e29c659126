/**
 * XOR with a 2-H-1 sigmoid network trained by plain full-batch gradient descent: the classic net
 * that learns for some initial weights and gets stuck in a local minimum for others (Rumelhart,
 * Hinton & Williams 1986). A converge module trainer, plain JavaScript, no dependencies:
 *
 *     trainer: {module: ./xor.mjs}
 *
 * examples/xor/train.py is the same net and the same update as a Python command trainer; the two
 * draw their initial weights from different random streams, so they agree on rates, not on runs.
 */

/**
 * Declared parameters (a sweep file's `params:` may override any of them per key): `hidden` is H,
 * `learning_rate` the step of the full-batch gradient descent, `epochs` the number of updates (one
 * per epoch), `report_every` k to report every k-th epoch only (and always the last one).
 */
export const params = {
  hidden: { type: 'integer', default: 2, min: 1 },
  learning_rate: { type: 'number', default: 2, min: 0 },
  epochs: { type: 'integer', default: 1000, min: 1 },
  report_every: { type: 'integer', default: 1, min: 1 },
};

/** Which way each reported metric is good: a rule may then say `threshold:` alone. */
export const metrics = { loss: 'below', accuracy: 'above' };

const PATTERNS = [
  [0, 0, 0],
  [0, 1, 1],
  [1, 0, 1],
  [1, 1, 0],
];

/** mulberry32: a small seeded generator, so a run is a function of its parameters and seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

/**
 * Weights: w1[j] = [from input 0, from input 1, bias] of hidden unit j, w2 = [from each hidden
 * unit…, bias], all uniform in [-1, 1]. Each epoch: the gradient of 0.5·Σ(out - target)² summed
 * over the four patterns, one step of `learning_rate`, then the loss (mean squared error) and the
 * accuracy (patterns on the right side of 0.5) of the updated net.
 */
export async function train(p, ctx) {
  const h = p.hidden;
  const lr = p.learning_rate;
  const every = p.report_every ?? 1;
  const rand = mulberry32(ctx.seed);
  const uniform = () => rand() * 2 - 1;
  const w1 = Array.from({ length: h }, () => [uniform(), uniform(), uniform()]);
  const w2 = Array.from({ length: h + 1 }, uniform);
  const hidden = new Float64Array(h);
  const g1 = Array.from({ length: h }, () => new Float64Array(3));
  const g2 = new Float64Array(h + 1);

  const forward = (x0, x1) => {
    let z = w2[h];
    for (let j = 0; j < h; j++) {
      const w = w1[j];
      hidden[j] = sigmoid(w[0] * x0 + w[1] * x1 + w[2]);
      z += w2[j] * hidden[j];
    }
    return sigmoid(z);
  };

  for (let epoch = 1; epoch <= p.epochs; epoch++) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    g2.fill(0);
    for (const g of g1) g.fill(0);
    for (const [x0, x1, target] of PATTERNS) {
      const out = forward(x0, x1);
      const dOut = (out - target) * out * (1 - out);
      for (let j = 0; j < h; j++) {
        const dHidden = dOut * w2[j] * hidden[j] * (1 - hidden[j]);
        g2[j] += dOut * hidden[j];
        g1[j][0] += dHidden * x0;
        g1[j][1] += dHidden * x1;
        g1[j][2] += dHidden;
      }
      g2[h] += dOut;
    }
    for (let j = 0; j < h; j++) {
      w2[j] -= lr * g2[j];
      for (let i = 0; i < 3; i++) w1[j][i] -= lr * g1[j][i];
    }
    w2[h] -= lr * g2[h];

    if (epoch % every === 0 || epoch === p.epochs) {
      let loss = 0;
      let right = 0;
      for (const [x0, x1, target] of PATTERNS) {
        const out = forward(x0, x1);
        loss += (out - target) ** 2;
        if (out > 0.5 === target > 0.5) right++;
      }
      ctx.report(epoch, { loss: loss / PATTERNS.length, accuracy: right / PATTERNS.length });
    }
    // Let an abort (Ctrl-C, --timeout) reach this run between epochs, not only at its end.
    if (epoch % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}
