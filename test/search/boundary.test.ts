import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateValues, nextSearchStep, type Observation, type SearchSettings } from '../../src/search';
import { drawRun, simulateSearch } from './synthetic';

const s: SearchSettings = { lo: 10, hi: 501, target: 0.5, among: 'alive', precision: 0.25, budget: 400, batch: 4 };
const truth = { n50: 100, slope: 6, deadFraction: 0.3 };

test('the next step is a function of the observations: their order in the input does not matter', () => {
  const obs: Observation[] = [];
  for (let i = 0; i < 4; i++) {
    const step = nextSearchStep(s, obs);
    assert.equal(step.done, false);
    for (const r of step.runs) obs.push(drawRun(truth, 7, r.value, r.repeat, obs.length));
  }
  const a = nextSearchStep(s, obs);
  const b = nextSearchStep(s, [...obs].reverse());
  assert.deepEqual(b, a);
});

test('a search stopped at any step and restarted from its observations gives the same answer', () => {
  const whole = simulateSearch(s, truth, 11);
  // Replay, "killing" the search after every step: a fresh call sees only the observations.
  const obs: Observation[] = [];
  let steps = 0;
  for (;;) {
    const step = nextSearchStep(s, obs.map((o) => ({ ...o })));
    if (step.done) {
      assert.deepEqual(step.answer, whole);
      break;
    }
    steps += 1;
    for (const r of step.runs) obs.push(drawRun(truth, 11, r.value, r.repeat, obs.length));
  }
  assert.ok(steps > 2);
});

test('runs asked for are new (value, repeat) pairs, repeats counting up from 0 at each value', () => {
  const obs: Observation[] = [];
  const seen = new Set<string>();
  for (;;) {
    const step = nextSearchStep(s, obs);
    if (step.done) break;
    for (const r of step.runs) {
      const key = `${r.value}#${r.repeat}`;
      assert.ok(!seen.has(key), `asked twice for ${key}`);
      seen.add(key);
      const before = obs.filter((o) => o.value === r.value).length;
      assert.ok(r.repeat <= before + 4);
      obs.push(drawRun(truth, 3, r.value, r.repeat, obs.length));
    }
  }
  for (const v of new Set(obs.map((o) => o.value))) {
    const reps = obs.filter((o) => o.value === v).map((o) => o.repeat).sort((a, b) => a - b);
    assert.deepEqual(reps, reps.map((_, i) => i));
  }
});

test('the search never exceeds its budget, and says when the budget ended it', () => {
  const a = simulateSearch({ ...s, budget: 40, precision: 0.01 }, truth, 5);
  assert.ok(a.runs <= 40);
  assert.equal(a.stop, 'budget');
});

test('the probed values are integers inside the range', () => {
  const c = candidateValues(10, 501);
  assert.ok(c.every((v) => Number.isInteger(v) && v >= 10 && v <= 501));
  assert.equal(c[0], 10);
  assert.equal(c[c.length - 1], 501);
  assert.deepEqual(candidateValues(3, 9), [3, 4, 5, 6, 7, 8, 9]);
});

test('a bracketed answer has ci_low < estimate < ci_high inside the evidence it reports', () => {
  for (let world = 1; world <= 20; world++) {
    const a = simulateSearch(s, truth, world);
    if (!a.bracketed) continue;
    assert.ok(a.ciLow! < a.estimate! && a.estimate! < a.ciHigh!);
    assert.equal(a.probes.reduce((n, p) => n + p.n, 0) <= a.runs, true);
  }
});
