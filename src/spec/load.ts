import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConvergeError, didYouMean } from '../errors';
import { DEFAULT_RULE } from '../outcome';
import { INTEGER_PARAMS, PARAMS, POSITIVE_INT, type AdaptiveRepeatsSpec, type ParamName, type ParamValue, type ParsedSweepFile, type ResolvedParams, type SearchSpec, SweepFileSchema, type SweepSpec } from './schema';

type Path = (string | number)[];

function pathString(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top level)';
}

function lineFinder(doc: Document, lc: LineCounter): (path: Path) => number | undefined {
  return (path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return lc.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** The line of key `key` inside the mapping at `path` (for unknown keys). */
function keyLine(doc: Document, lc: LineCounter, path: Path, key: string): number | undefined {
  const parent = path.length ? doc.getIn(path, true) : doc.contents;
  if (isMap(parent)) {
    for (const pair of parent.items) {
      const k = pair.key as { value?: unknown; range?: [number, number, number] } | null;
      if (k && String(k.value) === key && k.range) return lc.linePos(k.range[0]).line;
    }
  }
  return undefined;
}

/** Keys allowed at a path of the raw file, for "did you mean". */
function allowedKeys(path: Path): string[] {
  const top = Object.keys(SweepFileSchema.shape);
  if (path.length === 0) return top;
  const head = path[0];
  if (head === 'data' || head === 'model' || head === 'train') {
    return Object.entries(PARAMS)
      .filter(([, p]) => p.section === head)
      .map(([n]) => n);
  }
  if (head === 'grid' || head === 'cases') return Object.keys(PARAMS);
  if (head === 'converged') return ['metric', 'threshold'];
  if (head === 'search') return path.length === 1 ? ['axis', 'for', 'range', 'target', 'among', 'precision', 'budget'] : Object.keys(PARAMS);
  if (head === 'repeats') return path.length === 1 ? ['min', 'max', 'batch', 'until'] : ['ci_width', 'decide'];
  return [];
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function valueAt(root: unknown, path: Path): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function issueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  const got = describeValue(valueAt(raw, issue.path as Path));
  switch (issue.code) {
    case 'invalid_type': {
      // zod reports integer fields as expecting "number"; say what is really allowed.
      const param = [...issue.path].reverse().find((p): p is string => typeof p === 'string' && p in PARAMS) as ParamName | undefined;
      const integer = param !== undefined && (PARAMS[param].type as unknown) === POSITIVE_INT;
      return `expected ${integer || issue.expected === 'int' ? 'a positive integer' : issue.expected}, got ${got}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `expected a non-empty list, got ${got}`;
      return `expected a ${issue.minimum === 1 && issue.inclusive ? 'positive integer' : `number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`}, got ${got}`;
    case 'too_big':
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}, got ${got}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'invalid_format':
      return `${issue.message.toLowerCase()}, got ${got}`;
    default: {
      const m = issue.message;
      return `${m.charAt(0).toLowerCase()}${m.slice(1)}, got ${got}`;
    }
  }
}

/**
 * A value matching no branch of a union (`repeats: 0`, a bad `repeats: {…}`): report the branch of
 * the value's own kind (a number's error for a number, the mapping's for a mapping), with its path.
 */
function unionBranchIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || !Array.isArray(issue.errors)) return issue;
  const branches = (issue.errors as z.core.$ZodIssue[][]).filter((b) => b.length > 0);
  const own = branches.find((b) => b[0]!.code !== 'invalid_type' || b[0]!.path.length > 0) ?? branches[0];
  if (!own) return issue;
  const inner = own[0]!;
  return unionBranchIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parse and validate sweep text; `path` is used in messages. Throws ConvergeError (spec.*). */
export function parseSpec(text: string, path: string): SweepSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    const line = lc.linePos(yamlErr.pos[0]).line;
    const msg = yamlErr.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConvergeError('spec.yaml', `${path}:${line}: malformed YAML: ${msg}`);
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConvergeError('spec.invalid', `${path}:1: expected a mapping with at least "name:", got ${describeValue(raw)}`);
  }
  const lineOf = lineFinder(doc, lc);
  const parsed = SweepFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = unionBranchIssue(parsed.error.issues[0]!);
    const ipath = issue.path as Path;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      const line = keyLine(doc, lc, ipath, key) ?? lineOf(ipath) ?? 1;
      const allowed = allowedKeys(ipath);
      const guess = didYouMean(key, allowed);
      const where = ipath.length ? `${pathString(ipath)}: ` : '';
      throw new ConvergeError(
        'spec.unknownKey',
        `${path}:${line}: ${where}unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : `; allowed: ${allowed.join(', ')}`}`,
      );
    }
    const line = lineOf(ipath) ?? 1;
    throw new ConvergeError('spec.invalid', `${path}:${line}: ${pathString(ipath)}: ${issueMessage(issue, raw)}`);
  }
  const f = parsed.data;
  const base: Partial<Record<ParamName, ParamValue>> = {};
  for (const [name, p] of Object.entries(PARAMS) as [ParamName, (typeof PARAMS)[ParamName]][]) {
    if (p.default !== undefined) base[name] = p.default;
  }
  for (const section of ['data', 'model', 'train'] as const) {
    const s = f[section] as Record<string, ParamValue | undefined> | undefined;
    if (s) for (const [k, v] of Object.entries(s)) if (v !== undefined) base[k as ParamName] = v;
  }
  if (f.engine !== undefined) base.engine = f.engine;
  const grid: Partial<Record<ParamName, ParamValue[]>> = {};
  for (const [k, v] of Object.entries(f.grid ?? {})) if (v !== undefined) grid[k as ParamName] = v as ParamValue[];
  const cases = (f.cases ?? []).map((c) => {
    const o: Partial<Record<ParamName, ParamValue>> = {};
    for (const [k, v] of Object.entries(c)) if (v !== undefined) o[k as ParamName] = v as ParamValue;
    return o;
  });
  for (const [i, c] of cases.entries()) {
    for (const k of Object.keys(c)) {
      if (k in grid) {
        throw new ConvergeError(
          'spec.conflict',
          `${path}:${lineOf(['cases', i, k]) ?? 1}: cases[${i}].${k}: "${k}" is also a grid axis; set it in grid or in cases, not both`,
        );
      }
    }
  }
  for (const [axis, values] of Object.entries(grid)) {
    const seen = new Set(values.map((v) => JSON.stringify(v)));
    if (seen.size !== values.length) {
      throw new ConvergeError('spec.duplicateValue', `${path}:${lineOf(['grid', axis]) ?? 1}: grid.${axis}: a value is listed twice`);
    }
  }
  const rep = f.repeats;
  let adaptive: AdaptiveRepeatsSpec | undefined;
  if (typeof rep !== 'number') {
    if (rep.max < rep.min) {
      throw new ConvergeError('spec.invalid', `${path}:${lineOf(['repeats', 'max']) ?? 1}: repeats.max: expected at least min (${rep.min}), got ${rep.max}`);
    }
    if (rep.until.ci_width === undefined && rep.until.decide === undefined) {
      throw new ConvergeError('spec.invalid', `${path}:${lineOf(['repeats', 'until']) ?? 1}: repeats.until: expected ci_width, decide or both, got neither`);
    }
    adaptive = {
      min: rep.min,
      max: rep.max,
      ...(rep.batch !== undefined ? { batch: rep.batch } : {}),
      until: { ...(rep.until.ci_width !== undefined ? { ciWidth: rep.until.ci_width } : {}), ...(rep.until.decide !== undefined ? { decide: rep.until.decide } : {}) },
    };
  }
  const repeats = typeof rep === 'number' ? rep : rep.min;
  const search = f.search ? searchSpec(f.search, { path, lineOf, repeats, grid, cases }) : undefined;
  return {
    name: f.name,
    ...(f.description !== undefined ? { description: f.description } : {}),
    seed: f.seed,
    repeats,
    ...(adaptive ? { adaptive } : {}),
    ...(search ? { search } : {}),
    base: base as Partial<ResolvedParams>,
    grid,
    cases,
    converged: f.converged ?? { ...DEFAULT_RULE },
    impossible: f.impossible,
    source: { path, text, hash: sha256(text) },
    lineOf,
  };
}

function searchSpec(
  raw: NonNullable<ParsedSweepFile['search']>,
  c: { path: string; lineOf: (p: Path) => number | undefined; repeats: number; grid: Partial<Record<ParamName, ParamValue[]>>; cases: Partial<Record<ParamName, ParamValue>>[] },
): SearchSpec {
  const at = (p: Path) => `${c.path}:${c.lineOf(['search', ...p]) ?? 1}: search.${pathString(p)}`;
  if (!(raw.axis in PARAMS)) {
    const guess = didYouMean(raw.axis, INTEGER_PARAMS);
    throw new ConvergeError('spec.invalid', `${at(['axis'])}: unknown parameter "${raw.axis}"${guess ? ` (did you mean "${guess}"?)` : `; allowed: ${INTEGER_PARAMS.join(', ')}`}`);
  }
  const axis = raw.axis as ParamName;
  if (!INTEGER_PARAMS.includes(axis)) {
    throw new ConvergeError('spec.invalid', `${at(['axis'])}: "${axis}" is not integer-valued; a search runs along one of ${INTEGER_PARAMS.join(', ')}`);
  }
  const forAxes: Partial<Record<ParamName, ParamValue[]>> = {};
  for (const [k, v] of Object.entries(raw.for ?? {})) if (v !== undefined) forAxes[k as ParamName] = v as ParamValue[];
  if (axis in forAxes) throw new ConvergeError('spec.conflict', `${at(['for', axis])}: "${axis}" is the searched axis; it cannot also have fixed values`);
  if (axis in c.grid) throw new ConvergeError('spec.conflict', `${c.path}:${c.lineOf(['grid', axis]) ?? 1}: grid.${axis}: "${axis}" is the searched axis (search.axis); remove it from grid`);
  if (c.cases.some((x) => axis in x)) throw new ConvergeError('spec.conflict', `${c.path}:${c.lineOf(['cases']) ?? 1}: cases: "${axis}" is the searched axis (search.axis); remove it from cases`);
  for (const k of Object.keys(forAxes)) {
    if (k in c.grid) throw new ConvergeError('spec.conflict', `${at(['for', k])}: "${k}" is also a grid axis; set it in grid or in search.for, not both`);
  }
  if (raw.budget < c.repeats) {
    throw new ConvergeError('spec.invalid', `${at(['budget'])}: expected at least the ${c.repeats} seeds a probe starts with (repeats), got ${raw.budget}`);
  }
  // Runs dead at initialisation never train (an exact fixed point), so by default they say
  // nothing about where learning starts; `all` counts them as failures.
  const among = raw.among ?? 'alive';
  return { axis, for: forAxes, range: raw.range as [number | string, number | string], target: raw.target, among, precision: raw.precision, budget: raw.budget };
}

/** Read and validate a sweep file. */
export function loadSpec(file: string): SweepSpec {
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new ConvergeError('spec.notFound', `${file}: is a folder; expected a sweep file (.yaml)`);
    const buf = readFileSync(file);
    if (buf.subarray(0, 16).toString('latin1') === 'SQLite format 3\u0000') {
      throw new ConvergeError(
        'spec.isDatabase',
        `${file}: is a SQLite database, not a sweep spec; give the sweep's .yaml file here (databases go to status, report, query or --db)`,
      );
    }
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof ConvergeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConvergeError('spec.notFound', `${file}: cannot read the sweep file (${code ?? String(e)}); check the path`);
  }
  return parseSpec(text, file);
}
