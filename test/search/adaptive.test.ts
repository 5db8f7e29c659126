import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seedsWanted, undecided, type AdaptiveRepeats, type SeedOutcome } from '../../src/search';
import { createRng, hash32 } from '../../src/util/rng';

const cfg: AdaptiveRepeats = { min: 8, max: 40, until: { decide: 0.5 } };

/** A plain sweep's cell against the synthetic source: seed r alive with 0.7, converges with `p` if alive. */
function drawSeed(cell: string, p: number, r: number): SeedOutcome {
  const rng = createRng(hash32(`${cell}#${r}`));
  if (rng.next() >= 0.7) return 'skip'; // dead at initialisation: not counted among alive
  return rng.next() < p;
}

/** Run the adaptive-repeats loop for one cell: add what seedsWanted asks until it asks for nothing. */
function runCell(cell: string, p: number): SeedOutcome[] {
  const outcomes: SeedOutcome[] = [];
  for (;;) {
    const want = seedsWanted(cfg, outcomes);
    if (want <= outcomes.length) return outcomes;
    for (let r = outcomes.length; r < want; r++) outcomes.push(drawSeed(cell, p, r));
  }
}

/** The Wilson interval written out independently (score interval, z = 1.96). */
function wilsonRef(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const ph = k / n;
  const c = (ph + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const h = (z / (1 + (z * z) / n)) * Math.sqrt((ph * (1 - ph)) / n + (z * z) / (4 * n * n));
  return [c - h, c + h];
}

function firstMinDecided(out: SeedOutcome[]): boolean {
  const head = out.slice(0, cfg.min);
  const n = head.filter((o) => o !== 'skip').length;
  const k = head.filter((o) => o === true).length;
  const [lo, hi] = wilsonRef(k, n);
  return !(lo <= 0.5 && 0.5 <= hi);
}

test('adaptive repeats add seeds only to undecided cells: decided cells stop at min', () => {
  const rates = [0, 0.02, 0.05, 0.3, 0.5, 0.5, 0.7, 0.95, 0.98, 1];
  let decidedAtMin = 0;
  let grown = 0;
  for (let c = 0; c < 200; c++) {
    const p = rates[c % rates.length]!;
    const out = runCell(`cell${c}`, p);
    assert.ok(out.length >= cfg.min && out.length <= cfg.max, `cell ${c}: ${out.length} seeds`);
    if (firstMinDecided(out)) {
      assert.equal(out.length, cfg.min, `cell ${c} (p=${p}) was decided after ${cfg.min} seeds but got ${out.length}`);
      decidedAtMin += 1;
    } else {
      assert.ok(out.length > cfg.min, `cell ${c} (p=${p}) was undecided after ${cfg.min} seeds but got no more`);
      grown += 1;
    }
  }
  console.log(`adaptive repeats: ${decidedAtMin} of 200 cells decided at min = ${cfg.min}, ${grown} grew (max ${cfg.max})`);
  // Both kinds occur in this mix of rates, so the test exercises both branches.
  assert.ok(decidedAtMin > 20 && grown > 20);
});

test('a grown cell stops at the first batch where the interval is decided, or at max', () => {
  for (let c = 0; c < 100; c++) {
    const out = runCell(`mid${c}`, 0.5);
    const m = out.length;
    const counted = (upTo: number) => {
      const head = out.slice(0, upTo).filter((o) => o !== 'skip');
      return { k: head.filter((o) => o === true).length, n: head.length };
    };
    const end = counted(m);
    if (m < cfg.max) assert.equal(undecided(cfg.until, end.k, end.n), false, `cell ${c} stopped undecided at ${m}`);
    for (let upTo = cfg.min; upTo < m; upTo += cfg.min) {
      const at = counted(upTo);
      assert.equal(undecided(cfg.until, at.k, at.n), true, `cell ${c} went past a decided batch at ${upTo}`);
    }
  }
});

test('seeds beyond a decided batch (another runner, a shard) do not change the decision', () => {
  const out = runCell('cellX', 0.02);
  const extra: SeedOutcome[] = [...out, true, true, true, true, true, true];
  assert.equal(seedsWanted(cfg, extra), seedsWanted(cfg, out));
});

test('a batch with a seed not finished yet waits: the count stays at that batch', () => {
  const partial: SeedOutcome[] = [true, false, undefined, true, false, true];
  assert.equal(seedsWanted(cfg, partial), cfg.min);
  assert.equal(seedsWanted(cfg, []), cfg.min);
});

test('undecided agrees with an independent Wilson interval for every k of n up to 30', () => {
  const until = { ciWidth: 0.3, decide: 0.5 };
  for (let n = 0; n <= 30; n++) {
    for (let k = 0; k <= n; k++) {
      const [lo, hi] = wilsonRef(k, n);
      assert.equal(undecided(until, k, n), hi - lo > 0.3 || (lo <= 0.5 && 0.5 <= hi), `${k}/${n}`);
      assert.equal(undecided({ ciWidth: 0.3 }, k, n), hi - lo > 0.3, `${k}/${n} width only`);
    }
  }
});

test('with ci_width, cells grow until their interval is narrow enough', () => {
  const wide: AdaptiveRepeats = { min: 8, max: 200, until: { ciWidth: 0.3 } };
  const out: SeedOutcome[] = [];
  for (;;) {
    const want = seedsWanted(wide, out);
    if (want <= out.length) break;
    for (let r = out.length; r < want; r++) out.push(drawSeed('w', 0.5, r));
  }
  const counted = out.filter((o) => o !== 'skip');
  const [lo, hi] = wilsonRef(counted.filter((o) => o === true).length, counted.length);
  assert.ok(hi - lo <= 0.3 && out.length < 200, `${out.length} seeds, width ${hi - lo}`);
  assert.ok(out.length > 8);
});
