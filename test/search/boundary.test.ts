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

test('every run a search asks for has a seed no other run of the boundary has used', () => {
  // A seed carries its own threshold across values (issue 19): a fresh seed per run keeps the
  // runs independent, so the interval does not rest on a few seeds seen many times.
  const obs: Observation[] = [];
  const seeds = new Set<number>();
  for (;;) {
    const step = nextSearchStep(s, obs);
    if (step.done) break;
    for (const r of step.runs) {
      assert.ok(!seeds.has(r.repeat), `seed ${r.repeat} asked twice`);
      seeds.add(r.repeat);
      obs.push(drawRun(truth, 3, r.value, r.repeat, obs.length));
    }
  }
  assert.deepEqual([...seeds].sort((a, b) => a - b), obs.map((_, i) => i), 'seeds 0, 1, 2, … in the order asked');
});

test('a search database written with seed r at every value resumes with new seeds only, and no run is asked twice', () => {
  // The runs such a database holds: the opening design and a few steps of the search before
  // fresh seeds (seeds: shared), then the current search continues from them.
  const old: Observation[] = [];
  for (let i = 0; i < 6; i++) {
    const step = nextSearchStep({ ...s, seeds: 'shared' }, old);
    for (const r of step.runs) old.push(drawRun(truth, 9, r.value, r.repeat, old.length));
  }
  assert.ok(old.some((o) => o.repeat === 0 && old.some((p) => p.repeat === 0 && p.value !== o.value)), 'seed 0 at two values');
  const maxOld = Math.max(...old.map((o) => o.repeat));
  const obs = [...old];
  for (;;) {
    const step = nextSearchStep(s, obs);
    if (step.done) break;
    for (const r of step.runs) {
      assert.ok(r.repeat > maxOld, `seed ${r.repeat} was already used before the resume`);
      assert.ok(!obs.some((o) => o.value === r.value && o.repeat === r.repeat));
      obs.push(drawRun(truth, 9, r.value, r.repeat, obs.length));
    }
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
