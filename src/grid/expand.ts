import { ConvergeError } from '../errors';
import { splitProblem } from '../data/sequences';
import { PARAM_NAMES, type ParamName, type ParamValue, type ResolvedParams, type SweepSpec } from '../spec';
import { canonicalJson, cellKeyOf, runKeyOf, trainerIdentity, userCellKeyOf, userParamsJson, userRunKeyOf } from './run-key';

export interface PlannedCell {
  cellKey: string;
  /** Values of the swept parameters (axes) only. */
  axisValues: Partial<Record<ParamName, ParamValue>>;
  params: ResolvedParams;
}

export interface PlannedRun {
  runKey: string;
  cellKey: string;
  /** 0-based seed index within the cell; seed = spec.seed + repeat. */
  repeat: number;
  seed: number;
  params: ResolvedParams;
  paramsJson: string;
}

export interface SkippedCell {
  axisValues: Partial<Record<ParamName, ParamValue>>;
  reason: string;
}

export interface Plan {
  name: string;
  /** Swept parameter names, sorted: the grid axes and the keys used by cases. */
  axes: ParamName[];
  cells: PlannedCell[];
  runs: PlannedRun[];
  skipped: SkippedCell[];
  /** Sum over runs of seq_len × n_samples × epochs: timesteps processed (train + validation). */
  timestepEpochs: number;
}

function cartesian(axes: ParamName[], grid: Partial<Record<ParamName, ParamValue[]>>): Partial<Record<ParamName, ParamValue>>[] {
  let acc: Partial<Record<ParamName, ParamValue>>[] = [{}];
  for (const a of axes) {
    const next: Partial<Record<ParamName, ParamValue>>[] = [];
    for (const partial of acc) for (const v of grid[a] ?? []) next.push({ ...partial, [a]: v });
    acc = next;
  }
  return acc;
}

export function describeCell(values: Partial<Record<ParamName, ParamValue>>): string {
  const keys = Object.keys(values).sort() as ParamName[];
  return keys.length ? keys.map((k) => `${k}=${String(values[k])}`).join(' ') : '(single cell)';
}

/** Why a cell cannot be trained, or undefined. */
export function impossibility(p: ResolvedParams): string | undefined {
  if (p.n_samples > p.seq_len + 1) {
    return `n_samples=${p.n_samples} > seq_len+1=${p.seq_len + 1} (there are only seq_len+1 distinct rows)`;
  }
  return splitProblem(p.n_samples, p.test_fraction);
}

/**
 * spec → cells → runs, deterministically: axes sorted by name, values in the order written,
 * cases crossed with the grid in the order written, seeds spec.seed + 0..repeats-1.
 */
export function expandPlan(spec: SweepSpec): Plan {
  if (spec.search) {
    throw new ConvergeError('spec.isSearch', `${spec.source.path}:${spec.lineOf(['search']) ?? 1}: search: this spec defines a boundary search; run it with \`converge search ${spec.source.path}\``);
  }
  if (spec.trainer.kind !== 'builtin') return expandUserPlan(spec);
  const gridAxes = (Object.keys(spec.grid) as ParamName[]).sort();
  const caseKeys = new Set<ParamName>();
  for (const c of spec.cases) for (const k of Object.keys(c) as ParamName[]) caseKeys.add(k);
  const axes = [...new Set<ParamName>([...gridAxes, ...caseKeys])].sort();
  const cases = spec.cases.length ? spec.cases : [{}];
  const cells: PlannedCell[] = [];
  const skipped: SkippedCell[] = [];
  const seen = new Set<string>();
  for (const g of cartesian(gridAxes, spec.grid)) {
    for (const c of cases) {
      const merged = { ...spec.base, ...g, ...c } as Partial<ResolvedParams>;
      for (const req of ['seq_len', 'n_samples'] as const) {
        if (merged[req] === undefined) {
          throw new ConvergeError(
            'spec.missingParam',
            `${spec.source.path}: ${req} is not set; give it under data:, as a grid axis, or in every case`,
          );
        }
      }
      const params = {} as Record<ParamName, ParamValue>;
      for (const k of PARAM_NAMES) params[k] = merged[k] as ParamValue;
      const resolved = params as ResolvedParams;
      const axisValues: Partial<Record<ParamName, ParamValue>> = {};
      for (const a of axes) axisValues[a] = params[a];
      const why = impossibility(resolved);
      if (why) {
        skipped.push({ axisValues, reason: why });
        continue;
      }
      const json = canonicalJson(params);
      const cellKey = cellKeyOf(json);
      if (seen.has(cellKey)) continue; // the same cell reached twice (e.g. repeated case): one cell
      seen.add(cellKey);
      cells.push({ cellKey, axisValues, params: resolved });
    }
  }
  if (skipped.length && spec.impossible === 'refuse') {
    const first = skipped[0]!;
    const more = skipped.length > 1 ? ` (and ${skipped.length - 1} more)` : '';
    // Point at where n_samples is set (lineOf falls back to enclosing nodes, so pick the path first).
    const where = spec.grid.n_samples ? ['grid', 'n_samples'] : spec.cases.some((c) => c.n_samples !== undefined) ? ['cases'] : ['data', 'n_samples'];
    const line = spec.lineOf(where) ?? 1;
    throw new ConvergeError(
      'spec.impossibleCell',
      `${spec.source.path}:${line}: cell ${describeCell(first.axisValues)}: ${first.reason}${more}; remove it, or add "impossible: skip" to skip such cells`,
    );
  }
  const runs: PlannedRun[] = [];
  let timestepEpochs = 0;
  for (const cell of cells) {
    const json = canonicalJson(cell.params);
    for (let r = 0; r < spec.repeats; r++) {
      const seed = spec.seed + r;
      runs.push({ runKey: runKeyOf(json, seed), cellKey: cell.cellKey, repeat: r, seed, params: cell.params, paramsJson: json });
      timestepEpochs += cell.params.seq_len * cell.params.n_samples * cell.params.epochs;
    }
  }
  return { name: spec.name, axes, cells, runs, skipped, timestepEpochs };
}

/**
 * The declared parameters of one user-trainer cell: every declared parameter, from its default,
 * overridden by the cell's axis and case values. A parameter nothing sets is refused (load
 * refuses it first; this guards specs built in code).
 */
export function userCellParams(spec: SweepSpec, values: Readonly<Record<string, ParamValue | undefined>>): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const name of Object.keys(spec.declared).sort()) {
    const v = values[name] ?? (spec.base as Record<string, ParamValue | undefined>)[name];
    if (v === undefined) {
      throw new ConvergeError('spec.missingParam', `${spec.source.path}:${spec.lineOf(['params', name]) ?? 1}: params.${name}: has no default, and this cell does not set it`);
    }
    params[name] = v;
  }
  return params;
}

/**
 * A module or command trainer's plan: the same cartesian product as the built-in one, over
 * declared parameters; run and cell keys hash the declared parameters and the trainer's identity
 * (run-key.ts trainerIdentity), params_json is the declared parameters alone.
 */
function expandUserPlan(spec: SweepSpec): Plan {
  const identity = trainerIdentity(spec.trainer);
  const gridAxes = (Object.keys(spec.grid) as ParamName[]).sort();
  const caseKeys = new Set<ParamName>();
  for (const c of spec.cases) for (const k of Object.keys(c) as ParamName[]) caseKeys.add(k);
  const axes = [...new Set<ParamName>([...gridAxes, ...caseKeys])].sort();
  const cells: PlannedCell[] = [];
  const seen = new Set<string>();
  for (const g of cartesian(gridAxes, spec.grid)) {
    for (const c of spec.cases.length ? spec.cases : [{}]) {
      const params = userCellParams(spec, { ...g, ...c } as Record<string, ParamValue>);
      const cellKey = userCellKeyOf(userParamsJson(params), identity);
      if (seen.has(cellKey)) continue;
      seen.add(cellKey);
      const axisValues: Partial<Record<ParamName, ParamValue>> = {};
      for (const a of axes) axisValues[a] = params[a];
      cells.push({ cellKey, axisValues, params: params as unknown as ResolvedParams });
    }
  }
  const runs: PlannedRun[] = [];
  for (const cell of cells) {
    const json = userParamsJson(cell.params as unknown as Record<string, ParamValue>);
    for (let r = 0; r < spec.repeats; r++) {
      const seed = spec.seed + r;
      runs.push({ runKey: userRunKeyOf(json, identity, seed), cellKey: cell.cellKey, repeat: r, seed, params: cell.params, paramsJson: json });
    }
  }
  return { name: spec.name, axes, cells, runs, skipped: [], timestepEpochs: 0 };
}
