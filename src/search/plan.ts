/**
 * spec → boundaries: one search per combination of `search.for` × grid × cases, each with its
 * fixed parameters, its range (expressions evaluated with those parameters) and its settings.
 * Pure: no I/O. A search run is an ordinary run (run key = parameters + seed), so every other
 * command reads it like any run of a sweep.
 */
import { ConvergeError } from '../errors';
import { canonicalJson, cellKeyOf, describeCell, impossibility, runKeyOf, trainerIdentity, userCellKeyOf, userCellParams, userParamsJson, userRunKeyOf, type PlannedRun } from '../grid';
import { declaredValueProblem } from '../spec';
import { PARAM_NAMES, type ParamName, type ParamValue, type ResolvedParams, type SweepSpec } from '../spec';
import type { SearchSettings } from './boundary';
import { evaluateExpression } from './expr';

export interface Boundary {
  /** The values that identify the boundary (the for/grid/case axes), e.g. {seq_len: 200}. */
  fixed: Partial<Record<ParamName, ParamValue>>;
  /** Every parameter but the searched axis. */
  params: Omit<ResolvedParams, ParamName> & Partial<ResolvedParams>;
  settings: SearchSettings;
}

export interface SearchPlan {
  axis: ParamName;
  /** Axes of the sweep as recorded in the database: the fixed axes and the searched one, sorted. */
  axes: ParamName[];
  boundaries: Boundary[];
  /** A user trainer's identity (grid/run-key.ts trainerIdentity), in its run and cell keys; absent for the built-in trainer. */
  identity?: string;
}

function cartesian(grid: Partial<Record<ParamName, ParamValue[]>>): Partial<Record<ParamName, ParamValue>>[] {
  let acc: Partial<Record<ParamName, ParamValue>>[] = [{}];
  for (const a of (Object.keys(grid) as ParamName[]).sort()) {
    const next: Partial<Record<ParamName, ParamValue>>[] = [];
    for (const partial of acc) for (const v of grid[a] ?? []) next.push({ ...partial, [a]: v });
    acc = next;
  }
  return acc;
}

/** The smallest and largest feasible values of `axis` with the other parameters fixed (scan). */
function feasibleSpan(params: Partial<ResolvedParams>, axis: ParamName, upTo: number): [number, number] | undefined {
  let first: number | undefined;
  let last: number | undefined;
  for (let v = 1; v <= upTo; v++) {
    const ok = impossibility({ ...params, [axis]: v } as ResolvedParams) === undefined;
    if (ok && first === undefined) first = v;
    if (ok) last = v;
    if (!ok && first !== undefined) break;
  }
  return first === undefined ? undefined : [first, last!];
}

/** " at seq_len=200" for a boundary with fixed values, "" for the single boundary of a spec without any. */
function atCell(fixed: Partial<Record<ParamName, ParamValue>>): string {
  return Object.keys(fixed).length ? ` at ${describeCell(fixed)}` : '';
}

export function expandSearch(spec: SweepSpec): SearchPlan {
  const search = spec.search;
  if (!search) throw new ConvergeError('spec.noSearch', `${spec.source.path}: has no search: block; add one (see converge search --help), or train it with converge run`);
  const { axis } = search;
  const user = spec.trainer.kind !== 'builtin';
  const fixedAxes = { ...spec.grid, ...search.for };
  const caseKeys = new Set<ParamName>();
  for (const c of spec.cases) for (const k of Object.keys(c) as ParamName[]) caseKeys.add(k);
  const axes = [...new Set<ParamName>([...(Object.keys(fixedAxes) as ParamName[]), ...caseKeys, axis])].sort();
  const boundaries: Boundary[] = [];
  const seen = new Set<string>();
  const line = (p: (string | number)[]) => `${spec.source.path}:${spec.lineOf(['search', ...p]) ?? 1}`;
  for (const g of cartesian(fixedAxes)) {
    for (const c of spec.cases.length ? spec.cases : [{}]) {
      const merged = { ...spec.base, ...g, ...c } as Partial<ResolvedParams>;
      delete merged[axis];
      for (const req of user ? [] : (['seq_len', 'n_samples'] as const)) {
        if (req !== axis && merged[req] === undefined) {
          throw new ConvergeError('spec.missingParam', `${spec.source.path}: ${req} is not set; give it under data:, in search.for, as a grid axis, or in every case`);
        }
      }
      const params = {} as Record<ParamName, ParamValue>;
      if (user) {
        // Every declared parameter but the axis (a placeholder value stands in for it while resolving).
        const resolved = userCellParams(spec, { ...merged, [axis]: 0 } as Record<string, ParamValue>);
        for (const [k, v] of Object.entries(resolved)) if (k !== axis) params[k as ParamName] = v;
      } else {
        for (const k of PARAM_NAMES) if (k !== axis) params[k] = merged[k] as ParamValue;
      }
      const fixed: Partial<Record<ParamName, ParamValue>> = {};
      for (const a of axes) if (a !== axis) fixed[a] = params[a];
      const key = canonicalJson(fixed);
      if (seen.has(key)) continue;
      seen.add(key);
      const lookup = (name: string) => (name in params && typeof params[name as ParamName] === 'number' ? (params[name as ParamName] as number) : undefined);
      const ends = search.range.map((end, i) => {
        let v: number;
        try {
          v = typeof end === 'number' ? end : evaluateExpression(end, lookup);
        } catch (e) {
          throw new ConvergeError('spec.invalid', `${line(['range', i])}: search.range[${i}]: ${(e as Error).message}; allowed: integers, parameter names, + - * / and parentheses`);
        }
        if (!Number.isInteger(v) || v < 1) {
          throw new ConvergeError('spec.invalid', `${line(['range', i])}: search.range[${i}]: "${String(end)}" is ${v}${atCell(fixed)}; expected a positive integer`);
        }
        return v;
      }) as [number, number];
      const [lo, hi] = ends;
      if (lo >= hi) {
        throw new ConvergeError('spec.invalid', `${line(['range'])}: search.range: [${lo}, ${hi}]${atCell(fixed)}; expected the first end below the second`);
      }
      if (user) {
        // A user trainer has no impossible cells; the range must stay within the axis's declaration.
        for (const [i, v] of [lo, hi].entries()) {
          const why = declaredValueProblem(spec.declared[axis]!, v);
          if (why) throw new ConvergeError('spec.invalid', `${line(['range', i])}: search.range[${i}]: ${axis}=${v}${atCell(fixed)}: ${why} (params.${axis})`);
        }
      }
      for (const v of user ? [] : [lo, hi]) {
        const why = impossibility({ ...params, [axis]: v } as ResolvedParams);
        if (why) {
          const span = feasibleSpan(params as Partial<ResolvedParams>, axis, Math.max(hi, 10_000));
          const allowed = span ? `;${atCell(fixed)} ${axis} must stay within [${span[0]}, ${span[1]}]` : '';
          throw new ConvergeError('spec.impossibleCell', `${line(['range'])}: search.range: ${axis}=${v} is an impossible cell: ${why}${allowed}`);
        }
      }
      // impossibility() is an interval in n_samples and seq_len, so both ends feasible means every value between is.
      boundaries.push({
        fixed,
        params: params as Boundary['params'],
        settings: { lo, hi, target: search.target, among: search.among, precision: search.precision, budget: search.budget, batch: spec.repeats },
      });
    }
  }
  return { axis, axes, boundaries, ...(user ? { identity: trainerIdentity(spec.trainer) } : {}) };
}

/** The run of boundary `b` at `value` with seed spec.seed + repeat. */
export function searchRun(spec: SweepSpec, plan: SearchPlan, b: Boundary, value: number, repeat: number): PlannedRun {
  const params = { ...b.params, [plan.axis]: value } as ResolvedParams;
  const seed = spec.seed + repeat;
  if (plan.identity !== undefined) {
    const json = userParamsJson(params as unknown as Record<string, ParamValue>);
    return { runKey: userRunKeyOf(json, plan.identity, seed), cellKey: userCellKeyOf(json, plan.identity), repeat, seed, params, paramsJson: json };
  }
  const json = canonicalJson(params);
  return { runKey: runKeyOf(json, seed), cellKey: cellKeyOf(json), repeat, seed, params, paramsJson: json };
}

/** Cell key of boundary `b` at `value` (to find its runs in the database). */
export function searchCellKey(plan: SearchPlan, b: Boundary, value: number): string {
  const params = { ...b.params, [plan.axis]: value };
  if (plan.identity !== undefined) return userCellKeyOf(userParamsJson(params as unknown as Record<string, ParamValue>), plan.identity);
  return cellKeyOf(canonicalJson(params as ResolvedParams));
}
