#!/usr/bin/env node
// Do the search's intervals hold on real runs? Eight searches of sweeps/boundary.yaml at L = 200
// on disjoint seed sets (seed K000, K = 1..8: a search uses at most `budget` = 400 seeds), then
// the boundary fitted to all their runs pooled; prints how many of the eight 95 % intervals
// contain the pooled estimate. Usage (after `npm run build`):
//   node scripts/real-data-check.mjs [folder for the databases, default results/real-data-check]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const { fitSearch } = require(join(root, 'dist/src/search'));
const out = resolve(process.argv[2] ?? join(root, 'results/real-data-check'));
mkdirSync(out, { recursive: true });

const answers = [];
const obs = [];
for (let k = 1; k <= 8; k++) {
  const db = join(out, `search-${k}.db`);
  const json = execFileSync(
    process.execPath,
    [join(root, 'dist/src/cli/main.js'), 'search', join(root, 'sweeps/boundary.yaml'), '--set', 'search.for={seq_len: [200]}', '--set', `seed=${k}000`, '--db', db, '--json', '--quiet'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [a] = JSON.parse(json);
  answers.push(a);
  console.log(`search ${k} (seeds ${k}000…): N50 ${a.estimate.toFixed(1)} [${a.ci_low.toFixed(1)}, ${a.ci_high.toFixed(1)}], ${a.runs} runs`);
  const d = new Database(db, { readonly: true });
  for (const r of d.prepare(`SELECT n_samples, seed, status, outcome, alive_at_init FROM runs WHERE in_plan = 1 AND status IN ('done', 'failed')`).all()) {
    // Every run has its own seed, so each is its own cluster (repeat = seed).
    obs.push({ value: r.n_samples, repeat: r.seed, outcome: r.status === 'failed' ? 'failed' : r.outcome === 'converged' ? 'converged' : 'not_converged', alive: r.alive_at_init === 1, order: obs.length });
  }
  d.close();
}
const fit = fitSearch({ lo: 10, hi: 201, target: 0.5, among: 'alive', precision: 0.25, budget: Infinity, batch: 4 }, obs);
const pooled = Math.exp(fit.theta);
const inside = answers.filter((a) => a.ci_low <= pooled && pooled <= a.ci_high).length;
console.log(`pooled: ${obs.length} runs (${obs.filter((o) => o.alive).length} alive at init): N50 ${pooled.toFixed(1)} [${Math.exp(fit.ciLow).toFixed(1)}, ${Math.exp(fit.ciHigh).toFixed(1)}], slope ${fit.b.toFixed(2)}, ceiling ${fit.top.toFixed(2)}`);
console.log(`${inside} of 8 intervals contain the pooled estimate`);
