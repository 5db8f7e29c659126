import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { DeclaredParam, MetricDirection, ModuleContext } from '../../src/trainer/types';
import { ROOT } from '../helpers';

/**
 * Loading the examples' ES modules from these CommonJS tests: TypeScript (module commonjs) rewrites
 * a plain `import()` into `require()`, which cannot load an .mjs file on Node 20; a Function keeps
 * the real dynamic import (as src/report/chart.ts does).
 */
const dynImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** What a module trainer exports (the design's module contract). */
export interface TrainerModule {
  params?: Record<string, DeclaredParam>;
  metrics?: Record<string, MetricDirection>;
  train(params: Record<string, unknown>, ctx: ModuleContext): Promise<void>;
}

export function importExample(...path: string[]): Promise<TrainerModule> {
  return dynImport(pathToFileURL(join(ROOT, 'examples', ...path)).href) as Promise<TrainerModule>;
}

export interface Reported {
  epoch: number;
  metrics: Record<string, number>;
}

/** A ctx as converge's module executor gives it, whose report() collects the epochs. */
export function collectingContext(seed: number, signal: AbortSignal = new AbortController().signal, onReport?: (r: Reported) => void): { ctx: ModuleContext; epochs: Reported[] } {
  const epochs: Reported[] = [];
  const ctx: ModuleContext = {
    seed,
    runId: seed,
    signal,
    runDir: ROOT,
    report(epoch, metrics) {
      const r = { epoch, metrics: { ...metrics } };
      epochs.push(r);
      onReport?.(r);
    },
  };
  return { ctx, epochs };
}

/** The sweep files' rule: loss below 0.05 at the last epoch. */
export function convergedRuns(finalLosses: number[]): number {
  return finalLosses.filter((l) => l < 0.05).length;
}

/** examples/xor/*.yaml: seed 1, repeats 20. */
export const SWEEP_SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
