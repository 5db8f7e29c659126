/**
 * Adam exactly as tfjs-core 4.22 applies it (node_modules/@tensorflow/tfjs-core/dist/optimizers/
 * adam_optimizer.js, applyGradients), which is what tfjs-layers' 'adam' runs:
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   w ← w − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
 * with t the 1-based step (tfjs keeps accBeta = β^t in a variable that starts at β and is
 * multiplied after each step). Keras 2.3 instead folds the bias corrections into lr_t and adds
 * ε to sqrt(v) uncorrected, i.e. an effective ε of ε·sqrt(1−β2^t); the difference is confined
 * to gradients of magnitude ~ε (1e-7). We match tfjs, the reference engine.
 */
export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** One Adam step over packed arrays of equal length; `step` is 1 for the first update. */
export function adamStep(
  params: Float64Array,
  grad: Float64Array,
  m: Float64Array,
  v: Float64Array,
  step: number,
  cfg: AdamConfig,
): void {
  const b1 = cfg.beta1;
  const b2 = cfg.beta2;
  const lr = cfg.learningRate;
  const eps = cfg.epsilon;
  const c1 = 1 - Math.pow(b1, step);
  const c2 = 1 - Math.pow(b2, step);
  const n = params.length;
  for (let i = 0; i < n; i++) {
    const gi = grad[i]!;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}
