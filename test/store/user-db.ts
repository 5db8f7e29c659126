/**
 * A real database of a user trainer's sweep (module kind), written through the store's own
 * functions: the plan a user-trainer spec gives (declared params in params_json), epochs as metric
 * rows, finishes scored by the user-run scoring. The spec side is built by hand here: these tests
 * are about the store and the readers, not the spec loader.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { canonicalJson, cellKeyOf, runKeyOf, type Plan } from '../../src/grid';
import type { Rule } from '../../src/outcome';
import { parseSpec, type SweepSpec } from '../../src/spec';
import { claimRuns, failUserRun, finishUserRun, openDb, recordUserEpoch, syncPlan, type Db } from '../../src/store';
import { scoreUserRun } from '../../src/outcome';
import type { DeclaredParam } from '../../src/trainer/types';
import { tempDir } from '../helpers';

export const XOR_DECLARED: Record<string, DeclaredParam> = {
  hidden: { type: 'integer', default: 2, min: 1 },
  learning_rate: { type: 'number', default: 0.5, min: 0 },
  activation: { type: 'string', values: ['sigmoid', 'tanh'], default: 'sigmoid' },
};

export interface UserSpecOptions {
  name?: string;
  rule?: Rule;
  grid?: Record<string, (number | string)[]>;
  repeats?: number;
  seed?: number;
  /** Appended to the spec text (changes its hash, as an edit of the file would). */
  note?: string;
}

/** A module-trainer spec and its plan: declared params, a grid over them, `repeats` seeds per cell. */
export function userSpecAndPlan(o: UserSpecOptions = {}): { spec: SweepSpec; plan: Plan } {
  const name = o.name ?? 'xor';
  const grid = o.grid ?? { hidden: [2, 3], learning_rate: [0.5] };
  const repeats = o.repeats ?? 4;
  const seed = o.seed ?? 1;
  const rule = o.rule ?? { metric: 'loss', threshold: 0.05, direction: 'below' };
  const text = `name: ${name}\ntrainer: {module: ./xor.mjs}\ngrid: ${JSON.stringify(grid)}\nrepeats: ${repeats}\nseed: ${seed}\nconverged: ${JSON.stringify(rule)}\n${o.note ?? ''}`;
  const base = parseSpec(`name: ${name}\nseed: ${seed}\nrepeats: ${repeats}\ngrid:\n  seq_len: [12]\n  n_samples: [10]\n`, 'xor.yaml');
  const spec: SweepSpec = {
    ...base,
    trainer: { kind: 'module', module: '/nowhere/xor.mjs', written: './xor.mjs' },
    declared: XOR_DECLARED,
    converged: rule,
    source: { path: 'xor.yaml', text, hash: createHash('sha256').update(text).digest('hex') },
  };
  const axes = Object.keys(grid).sort();
  let cells: Record<string, number | string>[] = [{}];
  for (const a of axes) cells = cells.flatMap((c) => grid[a]!.map((v) => ({ ...c, [a]: v })));
  const plan: Plan = { name, axes: axes as Plan['axes'], cells: [], runs: [], skipped: [], timestepEpochs: 0 };
  for (const axisValues of cells) {
    const params: Record<string, number | string | boolean> = {};
    for (const [k, d] of Object.entries(XOR_DECLARED)) params[k] = d.default!;
    Object.assign(params, axisValues);
    const json = canonicalJson(params as never);
    const identity = `${json}#trainer=module:./xor.mjs`;
    const cellKey = cellKeyOf(identity);
    plan.cells.push({ cellKey, axisValues: axisValues as never, params: params as never });
    for (let r = 0; r < repeats; r++) {
      plan.runs.push({ runKey: runKeyOf(identity, seed + r), cellKey, repeat: r, seed: seed + r, params: params as never, paramsJson: json });
    }
  }
  return { spec, plan };
}

export interface UserRunScript {
  /** Each epoch's metrics; a run with none reports nothing. */
  epochs: Record<string, number>[];
  /** The run fails (a throw in the module) instead of finishing. */
  fails?: string;
  codeHash?: string;
}

/** Plan, claim and train every run by `script(params, seed)`, scoring finishes under the spec's rule. */
export function buildUserDb(script: (p: Record<string, unknown>, seed: number) => UserRunScript, o: UserSpecOptions = {}): { dir: string; file: string; spec: SweepSpec } {
  const dir = tempDir();
  const file = join(dir, 'user.db');
  const { spec, plan } = userSpecAndPlan(o);
  const db = openDb(file);
  syncPlan(db, file, spec, plan);
  trainAll(db, spec.converged, script);
  db.close();
  return { dir, file, spec };
}

export function trainAll(db: Db, rule: Rule, script: (p: Record<string, unknown>, seed: number) => UserRunScript): void {
  for (const r of claimRuns(db, { owner: 't', limit: 100_000, leaseSeconds: 60, retries: 0 })) {
    const claim = { id: r.id, owner: 't' };
    const s = script(JSON.parse(r.paramsJson) as Record<string, unknown>, r.seed);
    s.epochs.forEach((m, i) => recordUserEpoch(db, claim, { epoch: i + 1, metrics: m }, 0.01));
    const code = { codeHash: s.codeHash ?? 'aaaa1111', commandLine: './xor.mjs' };
    if (s.fails) {
      failUserRun(db, claim, 'failed', s.fails, 0.1, { code });
      continue;
    }
    const extra = s.epochs.map((m, i) => ({ epoch: i + 1, loss: null, mae: null, valLoss: null, valMae: null, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, extra: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null])) }));
    const score = scoreUserRun(extra, rule);
    finishUserRun(db, claim, { outcome: score.outcome!, convergedEpoch: score.convergedEpoch, epochsRun: s.epochs.length, seconds: 0.1, rule, code });
  }
}
