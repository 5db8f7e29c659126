/**
 * Test-only synthetic outcome source: "training" a run is one draw. A run at value v is dead at
 * initialisation with probability `deadFraction`; an alive run converges with probability
 * p(v) = σ(slope · (log v − log n50)), so n50 is exactly the value where the rate among alive runs
 * is 0.5. A draw is a pure function of (world seed, value, repeat), like a real run of a seed.
 */
import { createRng, hash32 } from '../../src/util/rng';
import { nextSearchStep, sigmoid, type BoundaryAnswer, type Observation, type SearchSettings } from '../../src/search';

export interface Truth {
  n50: number;
  slope: number;
  deadFraction: number;
}

/** Rate among alive runs at v. */
export function aliveRate(t: Truth, v: number): number {
  return sigmoid(t.slope * (Math.log(v) - Math.log(t.n50)));
}

/** The value where the rate among the runs counted (`among`) equals `target`, or undefined if never. */
export function trueBoundary(t: Truth, target: number, among: 'alive' | 'all'): number | undefined {
  const q = among === 'all' ? target / (1 - t.deadFraction) : target;
  if (q >= 1) return undefined;
  return Math.exp(Math.log(t.n50) + Math.log(q / (1 - q)) / t.slope);
}

export function drawRun(t: Truth, world: number, value: number, repeat: number, order = 0): Observation {
  const rng = createRng(hash32(`${world}:${value}:${repeat}`));
  const alive = rng.next() >= t.deadFraction;
  const converged = alive && rng.next() < aliveRate(t, value);
  return { value, repeat, outcome: converged ? 'converged' : 'not_converged', alive, order };
}

/** A whole search against the synthetic source, in process. */
export function simulateSearch(s: SearchSettings, t: Truth, world: number): BoundaryAnswer {
  const obs: Observation[] = [];
  for (;;) {
    const step = nextSearchStep(s, obs);
    if (step.done) return step.answer;
    for (const r of step.runs) obs.push(drawRun(t, world, r.value, r.repeat, obs.length));
  }
}
