/**
 * Pairing the runs of two groups: run (seed s, settings x) of A with run (seed s, settings x) of
 * B, where x are all settings except those that define the groups. Pairing that is partial or not
 * one-to-one is refused with the filter that fixes it: a seed must never count twice on a side.
 */
import { ConvergeError } from '../errors';
import { formatParamValue } from './cells';
import type { Group } from './compare';
import type { RunRow } from './types';

function compareError(message: string): ConvergeError {
  return new ConvergeError('compare.ambiguous', message, { exitCode: 2 });
}

function describeRun(r: RunRow, names: readonly string[]): string {
  return [`seed=${r.seed}`, ...names.filter((n) => n in r.params).map((n) => `${n}=${formatParamValue(r.params[n]!)}`)].join(' ');
}

/**
 * The settings two runs of one side would have to differ in for a seed to appear twice: the
 * settings that define the groups, taking more than one value on that side.
 */
function multiValued(runs: readonly RunRow[], names: readonly string[]): string[] {
  return names.filter((n) => new Set(runs.map((r) => JSON.stringify(r.params[n] ?? null))).size > 1);
}

export interface Matching { pairs: [RunRow, RunRow][]; matchedOn: string[] }

/**
 * Pair the runs of A and B by seed and every setting not in `differing`; null when no seed is
 * shared (the groups are independent). Throws when pairing is partial or not one-to-one.
 */
export function matchRuns(a: Group, b: Group, differing: readonly string[]): Matching | null {
  const seedsA = new Set(a.runs.map((r) => r.seed));
  if (!b.runs.some((r) => seedsA.has(r.seed))) return null;
  const allNames = [...new Set([...a.runs, ...b.runs].flatMap((r) => Object.keys(r.params)))].sort();
  const shared = allNames.filter((n) => !differing.includes(n));
  const keyOf = (r: RunRow): string => JSON.stringify([r.seed, ...shared.map((n) => r.params[n] ?? null)]);
  const index = (g: Group, side: string): Map<string, RunRow> => {
    const m = new Map<string, RunRow>();
    for (const r of g.runs) {
      const k = keyOf(r);
      const other = m.get(k);
      if (other) {
        const vary = multiValued(g.runs, differing);
        throw compareError(
          `${side} "${g.label}" holds two runs with seed ${r.seed} and the same other settings ` +
            `(${describeRun(other, vary)} and ${describeRun(r, vary)}), so that seed would count twice; ` +
            (vary.length > 0
              ? `give ${side} one value of ${vary.join(', ')} (e.g. "${vary[0]}=${formatParamValue(r.params[vary[0]!]!)}" in --${side.toLowerCase()} or --where)`
              : `restrict ${side} with --where`),
        );
      }
      m.set(k, r);
    }
    return m;
  };
  const ia = index(a, 'A');
  const ib = index(b, 'B');
  const pairs: [RunRow, RunRow][] = [];
  for (const [k, ra] of ia) {
    const rb = ib.get(k);
    if (rb) pairs.push([ra, rb]);
  }
  const lonelyA = [...ia.entries()].filter(([k]) => !ib.has(k)).map(([, r]) => r);
  const lonelyB = [...ib.entries()].filter(([k]) => !ia.has(k)).map(([, r]) => r);
  if (lonelyA.length > 0 || lonelyB.length > 0) {
    const [side, g, lonely, other] = lonelyA.length > 0 ? (['A', a, lonelyA, b] as const) : (['B', b, lonelyB, a] as const);
    const example = lonely[0]!;
    // Name the settings where the lonely run differs from every run of the other side with its seed.
    const sameSeed = other.runs.filter((r) => r.seed === example.seed);
    const apart = shared.filter((n) => sameSeed.length > 0 && sameSeed.every((r) => r.params[n] !== example.params[n]));
    const seedsB = new Set(b.runs.map((r) => r.seed));
    const sharedSeeds = [...seedsA].filter((x) => seedsB.has(x)).sort((x, y) => x - y);
    const sameSeeds = sharedSeeds.length === seedsA.size && sharedSeeds.length === seedsB.size;
    const fix = !sameSeeds
      ? `restrict both groups to the seeds they share with --where (e.g. --where "seed>=${sharedSeeds[0]} and seed<=${sharedSeeds[sharedSeeds.length - 1]}")`
      : apart.length > 0
        ? `name ${apart.join(', ')} in --a and --b, or restrict both groups to the settings they share with --where`
        : 'restrict both groups to the settings they share with --where';
    throw compareError(
      `the groups share seeds, but only ${pairs.length} of ${side}'s ${g.runs.length} runs have a partner with the same seed and settings ` +
        `(e.g. ${describeRun(example, apart)} has none)${apart.length > 0 ? `; they differ in ${apart.join(', ')}` : ''}; ${fix}`,
    );
  }
  return { pairs, matchedOn: ['seed', ...shared] };
}
