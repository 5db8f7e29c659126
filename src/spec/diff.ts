import { parseSpec } from './load';
import { PARAMS, type ParamName, type SweepSpec } from './schema';

const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));

/**
 * What changed between two versions of a sweep, in the user's words: `train.epochs: 3 → 4`,
 * `grid.n_samples: [10] → [10,20]`, `repeats: 2 → 5`. Used by `run` and `status`.
 */
export function diffSpecs(before: SweepSpec, after: SweepSpec): string[] {
  const out: string[] = [];
  const cmp = (label: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${label}: ${show(a)} → ${show(b)}`);
  };
  cmp('repeats', before.repeats, after.repeats);
  cmp('seed', before.seed, after.seed);
  const keys = [...new Set([...Object.keys(before.base), ...Object.keys(after.base)])].sort() as ParamName[];
  for (const k of keys) {
    const section = PARAMS[k].section;
    cmp(section === 'top' ? k : `${section}.${k}`, before.base[k], after.base[k]);
  }
  const axes = [...new Set([...Object.keys(before.grid), ...Object.keys(after.grid)])].sort() as ParamName[];
  for (const a of axes) cmp(`grid.${a}`, before.grid[a], after.grid[a]);
  cmp('cases', before.cases, after.cases);
  cmp('converged', before.converged, after.converged);
  cmp('impossible', before.impossible, after.impossible);
  return out;
}

/** The same, from the recorded spec text of the previous version (which may no longer parse). */
export function diffSpecText(beforeText: string, after: SweepSpec): string[] {
  try {
    return diffSpecs(parseSpec(beforeText, 'previous spec'), after);
  } catch {
    return ['the previous spec no longer validates; runs were matched by their parameters'];
  }
}
