import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { budgetedStep, fitSearch, logit, type Observation, type SearchSettings } from '../../src/search';
import { createRng, hash32 } from '../../src/util/rng';
import { converge, oneLine, sandbox, withDb, writeSpec } from '../reliability/harness';

/**
 * A world where epochs move the boundary, as they do for real seeds: seed r has one latent
 * quantile u_r (shared across values AND budgets) and converges at value v within budget b when
 * log v > log n50(b) + logit(u_r) / slope, so a seed that learned by epoch 25 has learned by 50.
 * A share of seeds is dead at init and a share of alive seeds never learns (the rate tops out).
 */
interface World {
  n50: readonly number[];
  slope: number;
  dead: number;
  top: number;
}

function draw(w: World, world: number, value: number, repeat: number, order: number): { alive: boolean; converged: boolean[] } {
  const seed = createRng(hash32(`${world}:seed:${repeat}`));
  const alive = seed.next() >= w.dead;
  const stuck = seed.next() >= w.top;
  const u = Math.min(Math.max(seed.next(), 1e-12), 1 - 1e-12);
  void order;
  return { alive, converged: w.n50.map((n50) => alive && !stuck && Math.log(value) > Math.log(n50) + logit(u) / w.slope) };
}

/** One whole multi-budget search in process: the answer at each budget. */
function simulate(s: SearchSettings, w: World, world: number): { ciLow: number | null; ciHigh: number | null }[] {
  const own: Observation[] = [];
  const per: Observation[][] = w.n50.map(() => []);
  for (;;) {
    const { step, budgets } = budgetedStep(s, own, per);
    if (step.done) return budgets.map((b) => ({ ciLow: b.answer.ciLow, ciHigh: b.answer.ciHigh }));
    for (const r of step.runs) {
      const d = draw(w, world, r.value, r.repeat, own.length);
      const at = (c: boolean): Observation => ({ value: r.value, repeat: r.repeat, outcome: c ? 'converged' : 'not_converged', alive: d.alive, order: own.length });
      per.forEach((o, i) => o.push(at(d.converged[i]!)));
      own.push(at(d.converged[d.converged.length - 1]!));
    }
  }
}

test('per-budget intervals of one search cover each budget’s true N50 in at least 90 % of 60 simulated searches (seeds with latent thresholds, a rate topping out at 0.85)', () => {
  // Shaped like L = 200: N50 falls from 120 to 35 as the budget grows from 25 to 200 epochs.
  const w: World = { n50: [120, 70, 45, 35], slope: 2, dead: 0.45, top: 0.85 };
  const s: SearchSettings = { lo: 2, hi: 201, target: 0.5, among: 'alive', precision: 0.25, budget: 400, batch: 4 };
  const searches = 60;
  // Among alive runs the rate is top · F(...): the boundary (rate 0.5) is where F = 0.5 / 0.85.
  const truth = w.n50.map((n50) => Math.exp(Math.log(n50) + logit(0.5 / w.top) / w.slope));
  const covered = w.n50.map(() => 0);
  for (let world = 1; world <= searches; world++) {
    simulate(s, w, world).forEach((a, i) => {
      if (a.ciLow !== null && a.ciHigh !== null && a.ciLow <= truth[i]! && truth[i]! <= a.ciHigh) covered[i]! += 1;
    });
  }
  const rates = covered.map((c) => c / searches);
  console.log(`budget coverage: ${rates.map((r, i) => `${[25, 50, 100, 200][i]} epochs ${(r * 100).toFixed(0)} %`).join(', ')} of ${searches} searches`);
  for (const r of rates) assert.ok(r >= 0.9, `coverage ${rates.join(', ')}: one below 0.90`);
});

const SPEC = [
  'name: budgets',
  'seed: 1',
  'repeats: 4',
  'data: {seq_len: 12, test_fraction: 0}',
  'train: {epochs: 24}',
  'search:',
  '  axis: n_samples',
  '  range: [2, seq_len+1]',
  '  among: all',
  '  budget: 48',
  '  budgets: [6, 12, 24]',
  '',
].join('\n');

interface BudgetJson {
  epochs: number;
  estimate: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

test('search with budgets answers each epoch budget from the same runs, equal to a fit of their outcomes re-scored from the stored epochs by hand', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SPEC);
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [b] = JSON.parse(r.stdout) as { runs: number; estimate: number | null; ceiling: number | null; budgets: BudgetJson[] }[];
  assert.ok(b, r.stdout);
  assert.deepEqual(b.budgets.map((x) => x.epochs), [6, 12, 24]);
  assert.ok(b.ceiling === null || (b.ceiling > 0 && b.ceiling <= 1), `ceiling ${b.ceiling}`);
  // Independently: the rule (pop_mae < 0.05, a ReLU not dead on the population, no NaN) applied
  // in SQL to the epoch each budget names, every run counted (among: all).
  const s: SearchSettings = { lo: 2, hi: 13, target: 0.5, among: 'all', precision: 0.25, budget: 48, batch: 4 };
  for (const budget of b.budgets) {
    const rows = withDb(join(dir, 's.db'), (db) =>
      db
        .prepare(
          `SELECT r.id, r.n_samples AS value, r.seed, e.pop_mae, e.pop_max_output, r.alive_at_init,
             (SELECT count(*) FROM epochs x WHERE x.run_id = r.id AND x.epoch <= @b AND (x.loss IS NULL OR x.pop_mae IS NULL)) AS bad
           FROM runs r JOIN epochs e ON e.run_id = r.id AND e.epoch = @b WHERE r.status = 'done' ORDER BY r.id`,
        )
        .all({ b: budget.epochs }) as { id: number; value: number; seed: number; pop_mae: number; pop_max_output: number; alive_at_init: number; bad: number }[],
    );
    assert.equal(rows.length, b.runs, 'every run has an epoch at each budget');
    const obs: Observation[] = rows.map((x) => ({
      value: x.value,
      repeat: x.seed,
      outcome: x.bad === 0 && x.alive_at_init === 1 && x.pop_max_output > 0 && x.pop_mae < 0.05 ? 'converged' : 'not_converged',
      alive: x.alive_at_init === 1,
      order: x.id,
    }));
    const fit = fitSearch(s, obs);
    const est = fit && !fit.thetaAtEdge ? Math.exp(fit.theta) : null;
    if (est === null || budget.estimate === null) assert.equal(budget.estimate, est, `budget ${budget.epochs}`);
    else assert.ok(Math.abs(budget.estimate - est) < 1e-9 * est, `budget ${budget.epochs}: ${budget.estimate} vs ${est}`);
  }
  // The text output has a row per budget.
  const text = await converge(t, dir, ['search', 's.yaml', '--db', 's.db']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /per epoch budget/);
  for (const e of [6, 12, 24]) assert.match(text.stdout, new RegExp(`\\(single\\)\\s+${e}\\s`));
});

test('search.budgets above the epochs runs train is refused at load with one line, nothing written', async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SPEC.replace('budgets: [6, 12, 24]', 'budgets: [6, 48]'));
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(oneLine(r.stderr), /s\.yaml:11: search\.budgets: 48 epochs is more than the runs train \(train\.epochs 24\)/);
  assert.equal(existsSync(join(dir, 's.db')), false);
});
