import type { Dataset } from '../data/sequences';
import { populationTargets } from '../data/sequences';

/** Population metrics of one set of model outputs (index k = row with k leading zeros). */
export interface PopulationMetrics {
  popLoss: number;
  popMae: number;
  /** Over the rows never drawn; null when every row was drawn. */
  unseenMae: number | null;
  popMaxOutput: number;
}

/**
 * Loss and MAE over the whole input space (all L+1 rows) and over the rows this run never saw.
 * The targets are the rows' fractions of ones, computed in float64 (their mean is exactly 0.5,
 * so a dead net, output 0 everywhere, scores pop_mae = 0.5).
 */
export function populationMetrics(outputs: Float64Array, data: Dataset, targets: Float64Array = populationTargets(data.seqLen)): PopulationMetrics {
  const rows = data.seqLen + 1;
  let loss = 0;
  let mae = 0;
  let max = -Infinity;
  for (let k = 0; k < rows; k++) {
    const o = outputs[k]!;
    const err = o - targets[k]!;
    loss += err * err;
    mae += Math.abs(err);
    // NaN must win so a diverged model is never reported as dead.
    if (o > max || Number.isNaN(o)) max = o;
  }
  let unseen: number | null = null;
  if (data.rowsUnused.length > 0) {
    let s = 0;
    for (const k of data.rowsUnused) s += Math.abs(outputs[k]! - targets[k]!);
    unseen = s / data.rowsUnused.length;
  }
  return { popLoss: loss / rows, popMae: mae / rows, unseenMae: unseen, popMaxOutput: max };
}

/**
 * Alive at initialisation: some training row has a positive output pre-activation. For a ReLU
 * output, relu(z) > 0 exactly when z > 0, so the population outputs (which include every
 * training row) decide it. A linear output always passes a gradient.
 */
export function aliveAtInit(outputs: Float64Array, data: Dataset, relu: boolean): boolean {
  if (!relu) return true;
  for (let r = 0; r < data.nTrain; r++) {
    const o = outputs[data.rowsDrawn[r]!]!;
    if (o > 0 || Number.isNaN(o)) return true;
  }
  return false;
}
