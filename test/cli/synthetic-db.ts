import { join } from 'node:path';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { claimRuns, finishRun, openDb, recordEpoch, syncPlan } from '../../src/store';
import { tempDir } from '../helpers';

/**
 * A real database whose outcomes are set by hand: `converged(params, seed)` decides each run,
 * so the statistics can be checked against values computed independently from the file.
 */
export interface BuildOptions {
  /** The rule's metric (pop_mae, also stored as val_mae) per epoch; default one epoch below or above 0.05. */
  curve?: (p: Record<string, unknown>, seed: number, converged: boolean) => number[];
  /** Alive at initialisation; default true. */
  alive?: (p: Record<string, unknown>, seed: number) => boolean;
}

export function buildDb(specText: string, converged: (p: Record<string, unknown>, seed: number) => boolean, name = 'syn.db', opts: BuildOptions = {}): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, name);
  const spec = parseSpec(specText, 'syn.yaml');
  const plan = expandPlan(spec);
  const db = openDb(file);
  syncPlan(db, file, spec, plan);
  const runs = claimRuns(db, { owner: 't', limit: 1000, leaseSeconds: 60, retries: 0 });
  for (const r of runs) {
    const params = JSON.parse(r.paramsJson) as Record<string, unknown>;
    const seed = (db.prepare('select seed from runs where id = ?').pluck().get(r.id) as number);
    const c = converged(params, seed);
    // Readers score from the stored epochs, so every epoch that decides an outcome is stored.
    const curve = opts.curve?.(params, seed, c) ?? [c ? 0.02 + seed / 1e7 : 0.2 + 1 / (3 + seed)];
    const alive = opts.alive?.(params, seed) ?? true;
    let m = { epoch: 0, loss: 0.01, mae: 0.05, valLoss: 0.01, valMae: 0, popLoss: 0.01, popMae: 0, unseenMae: 0.1, popMaxOutput: 1, seconds: 0.1 };
    curve.forEach((v, i) => {
      m = { ...m, epoch: i + 1, valMae: v, popMae: v };
      recordEpoch(db, { id: r.id, owner: 't' }, m);
    });
    const last = curve[curve.length - 1]!;
    const outcome = !alive ? 'dead_at_init' : last < 0.05 ? 'converged' : 'not_converged';
    finishRun(db, { id: r.id, owner: 't' }, { backend: 'fused-js', outcome, aliveAtInit: alive, final: m, convergedEpoch: outcome === 'converged' ? curve.length : null, epochsRun: curve.length, seconds: 0.1 });
  }
  db.close();
  return { dir, file };
}

