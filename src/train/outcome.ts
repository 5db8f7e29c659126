import type { EpochMetrics, Outcome, TrainSummary } from './contract';

export type ConvergedMetric = 'val_mae' | 'val_loss' | 'mae' | 'loss';

export interface ConvergedRule {
  metric: ConvergedMetric;
  threshold: number;
}

export function metricOf(m: EpochMetrics, metric: ConvergedMetric): number {
  switch (metric) {
    case 'val_mae':
      return m.valMae;
    case 'val_loss':
      return m.valLoss;
    case 'mae':
      return m.mae;
    case 'loss':
      return m.loss;
  }
}

export interface Classified {
  outcome: Outcome;
  /** First epoch at which the metric was below the threshold, when the run converged. */
  convergedEpoch: number | null;
}

/**
 * Outcome of a finished run. diverged (NaN/Inf) wins; then converged when the final epoch's
 * metric is below the threshold; then dead (relu output 0 for every input); else not_converged.
 */
export function classifyRun(epochs: readonly EpochMetrics[], summary: TrainSummary, rule: ConvergedRule): Classified {
  const last = epochs[epochs.length - 1];
  if (summary.diverged || epochs.some((e) => !Number.isFinite(e.loss))) return { outcome: 'diverged', convergedEpoch: null };
  if (last && metricOf(last, rule.metric) < rule.threshold) {
    let first = last.epoch;
    for (let i = epochs.length - 1; i >= 0; i--) {
      if (metricOf(epochs[i]!, rule.metric) < rule.threshold) first = epochs[i]!.epoch;
      else break;
    }
    return { outcome: 'converged', convergedEpoch: first };
  }
  if (summary.deadOutput) return { outcome: 'dead', convergedEpoch: null };
  return { outcome: 'not_converged', convergedEpoch: null };
}
