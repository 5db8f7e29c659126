import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveBand } from '../../src/report';
import type { BandPoint } from '../../src/report';

/**
 * The reference: Hyndman & Fan's type 7 written with 1-based order statistics,
 * Q(p) = x[j] + g (x[j+1] − x[j]) with h = 1 + (n − 1) p, j = ⌊h⌋, g = h − j,
 * over values put in order by insertion sort.
 */
function type7(values: readonly number[], p: number): number {
  const x: number[] = [NaN]; // x[1..n]
  for (const v of values) {
    let i = x.length;
    x.push(v);
    while (i > 1 && x[i - 1]! > v) {
      x[i] = x[i - 1]!;
      i--;
    }
    x[i] = v;
  }
  const n = values.length;
  const h = 1 + (n - 1) * p;
  const j = Math.floor(h);
  const g = h - j;
  return j >= n ? x[n]! : x[j]! + g * (x[j + 1]! - x[j]!);
}

/** Per epoch, from each run the value of its last finite point at that epoch, found by a backward scan. */
function reference(series: readonly { x: number; y: number }[][]): BandPoint[] {
  const epochs = [...new Set(series.flat().filter((p) => Number.isFinite(p.y)).map((p) => p.x))].sort((a, b) => a - b);
  return epochs.map((epoch) => {
    const values: number[] = [];
    for (const run of series) {
      for (let i = run.length - 1; i >= 0; i--) {
        if (run[i]!.x === epoch && Number.isFinite(run[i]!.y)) {
          values.push(run[i]!.y);
          break;
        }
      }
    }
    return { epoch, runs: values.length, median: type7(values, 0.5), lo: type7(values, 0.25), hi: type7(values, 0.75) };
  });
}

const TOLERANCE = 1e-12; // relative: both paths do the same few float operations in another order

function assertClose(actual: BandPoint[], expected: BandPoint[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: epochs`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.equal(a.epoch, e.epoch, what);
    assert.equal(a.runs, e.runs, `${what}, epoch ${a.epoch}: runs`);
    for (const k of ['median', 'lo', 'hi'] as const) {
      assert.ok(Math.abs(a[k] - e[k]) <= TOLERANCE * Math.max(1, Math.abs(e[k])), `${what}, epoch ${a.epoch}: ${k} ${a[k]} vs ${e[k]}`);
    }
  });
}

test('curveBand gives the median and the interquartile range per epoch of a hand-made set, each run counted once at the epochs it has', () => {
  const series = [
    [{ x: 1, y: 4 }, { x: 2, y: 2 }, { x: 3, y: 1 }],
    [{ x: 1, y: 8 }, { x: 2, y: 6 }], // stopped after epoch 2
    [{ x: 1, y: 0 }, { x: 2, y: NaN }, { x: 2, y: 3 }, { x: 3, y: 5 }, { x: 3, y: 7 }], // epoch 3 twice: the last counts
    [{ x: 3, y: 2 }, { x: 4, y: 10 }], // recorded from epoch 3 on
  ];
  // Epoch 1: 0 4 8; epoch 2: 2 3 6; epoch 3: 1 2 7; epoch 4: 10 alone.
  assert.deepEqual(curveBand(series), [
    { epoch: 1, runs: 3, median: 4, lo: 2, hi: 6 },
    { epoch: 2, runs: 3, median: 3, lo: 2.5, hi: 4.5 },
    { epoch: 3, runs: 3, median: 2, lo: 1.5, hi: 4.5 },
    { epoch: 4, runs: 1, median: 10, lo: 10, hi: 10 },
  ]);
  assertClose(curveBand(series), reference(series), 'hand-made');
});

test('curveBand of no runs, or of runs with no finite value, is empty; a lone run is its own median with a band of zero width', () => {
  assert.deepEqual(curveBand([]), []);
  assert.deepEqual(curveBand([[{ x: 1, y: NaN }, { x: 2, y: Infinity }]]), []);
  assert.deepEqual(curveBand([[{ x: 2, y: 0.3 }, { x: 1, y: 0.5 }]]), [
    { epoch: 1, runs: 1, median: 0.5, lo: 0.5, hi: 0.5 },
    { epoch: 2, runs: 1, median: 0.3, lo: 0.3, hi: 0.3 },
  ]);
});

test('curveBand equals a sort-based type-7 recount on 300 random sets of runs that start late, stop early, repeat epochs and hold NaN', () => {
  let state = 2024;
  const rand = (): number => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 300; trial++) {
    const runs = 1 + Math.floor(rand() * 20);
    const series = Array.from({ length: runs }, () => {
      const first = 1 + Math.floor(rand() * 5);
      const last = first + Math.floor(rand() * 30);
      const points: { x: number; y: number }[] = [];
      for (let e = first; e <= last; e++) {
        const r = rand();
        // Lognormal-ish values, a few NaN, a few epochs recorded twice, ties from rounding.
        points.push({ x: e, y: r < 0.05 ? NaN : Math.round(Math.exp(-3 * rand()) * 1000) / 1000 });
        if (r > 0.95) points.push({ x: e, y: rand() });
      }
      return points;
    });
    assertClose(curveBand(series), reference(series), `trial ${trial}`);
  }
});
