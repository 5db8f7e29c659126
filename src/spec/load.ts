import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isMap, LineCounter, parse as parseYaml, parseDocument, type Document } from 'yaml';
import { describeValue, keyLine, lineFinder, locator, pathString, valueAt, type Locate, type Path, type SpecOverride } from './where';
import type { z } from 'zod';
import { ConvergeError, didYouMean } from '../errors';
import { DEFAULT_RULE, VALIDATION_METRICS, type Rule, type RuleMetric } from '../outcome';
import { filterNames, parseComparisonPhrase } from '../filter';
import { INTEGER_PARAMS, PARAM_NAMES, PARAMS, POSITIVE_INT, type AdaptiveRepeatsSpec, type ParamName, type ParamValue, type ParsedSweepFile, type ResolvedParams, type SearchSpec, SweepFileSchema, type SweepSpec, type UserSweepFile } from './schema';
import type { DeclaredParam, MetricDirection } from '../trainer/types';
import { isUserTrainer, parseUserSpec } from './user';

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
  if (head === 'converged') return ['metric', 'threshold', 'below', 'at'];
  if (head === 'search') return path.length === 1 ? ['axis', 'for', 'range', 'target', 'among', 'precision', 'budget', 'budgets'] : Object.keys(PARAMS);
  if (head === 'repeats') return path.length === 1 ? ['min', 'max', 'batch', 'until'] : ['ci_width', 'decide'];
  return [];
}

/** Top-level sizes that are not parameters but read like them (repeats: five). */
const SIZES = new Set(['repeats']);

function issueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  const got = describeValue(valueAt(raw, issue.path as Path));
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.expected === 'array') return `expected a list of values (e.g. [10, 20]), got ${got}`;
      // zod reports integer fields as expecting "number"; say what is really allowed.
      const param = [...issue.path].reverse().find((p): p is string => typeof p === 'string' && p in PARAMS) as ParamName | undefined;
      const integer = (param !== undefined && (PARAMS[param].type as unknown) === POSITIVE_INT) || SIZES.has(String(issue.path[issue.path.length - 1]));
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
function unionBranchIssue(issue: z.core.$ZodIssue, raw?: unknown): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || !Array.isArray(issue.errors)) return issue;
  const branches = (issue.errors as z.core.$ZodIssue[][]).filter((b) => b.length > 0);
  // The branch the user meant: not one that only says the value is of another type, and not one
  // that misses a key the value does not have (`{command: [true]}` is not a module trainer
  // lacking `module:`): its first issue is about something the user wrote.
  const wrote = (b: z.core.$ZodIssue[]) => raw === undefined || b[0]!.code !== 'invalid_type' || valueAt(raw, [...issue.path, ...b[0]!.path] as Path) !== undefined;
  const own = branches.find((b) => (b[0]!.code !== 'invalid_type' || b[0]!.path.length > 0) && wrote(b)) ?? branches.find((b) => b[0]!.code !== 'invalid_type' || b[0]!.path.length > 0) ?? branches[0];
  if (!own) return issue;
  const inner = own[0]!;
  return unionBranchIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, raw);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export type { SpecOverride } from './where';

/** Parse `key=value` (from `--set`); throws spec.badSet. */
export function parseOverride(arg: string): SpecOverride {
  const eq = arg.indexOf('=');
  const key = eq > 0 ? arg.slice(0, eq).trim() : '';
  const path: Path = key.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  if (!key || path.some((p) => p === '')) {
    throw new ConvergeError('spec.badSet', `--set ${arg}: expected key=value with a dotted key, e.g. --set train.epochs=100 or --set grid.n_samples=[80,130]`);
  }
  let value: unknown;
  try {
    value = parseYaml(arg.slice(eq + 1));
  } catch (e) {
    throw new ConvergeError('spec.badSet', `--set ${arg}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  return { path, value: value ?? null, arg };
}

/** "seq_len belongs under data:", for a parameter put at the top level or in the wrong section. */
function misplaced(ipath: Path, key: string): string | undefined {
  const p = (PARAMS as Record<string, { section: string }>)[key];
  if (!p || p.section === 'top') return undefined;
  if (ipath.length === 0) return `${key} belongs under ${p.section}: (or grid: as an axis), not at the top level`;
  if (ipath.length === 1 && ['data', 'model', 'train'].includes(String(ipath[0]))) {
    return `${key} belongs under ${p.section}: (or grid: as an axis), not under ${String(ipath[0])}:`;
  }
  return undefined;
}

/** JSON with object keys sorted at every level, so equal values always give equal text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The identity of a spec: a hash of the validated spec (zod defaults filled in) as canonical JSON,
 * so comments, formatting and key order do not change it, and neither do `$schema` (an editor
 * hint) and `description`. Databases written before this hold a hash of the raw text; see sameSpec.
 */
export function specHash(parsed: ParsedSweepFile | UserSweepFile): string {
  // compare: only names what the report shows, devices only where runs train; runs and outcomes
  // depend on neither. `trainer: builtin` says what its absence says.
  const { $schema: _schema, description: _description, compare: _compare, devices: _devices, ...rest } = parsed;
  const r = rest as Record<string, unknown>;
  if (r.trainer === 'builtin') delete r.trainer;
  const rule = r.converged as { threshold?: number; below?: number; above?: number } | undefined;
  // The threshold was a schema default before below: existed: hash such a rule as it was hashed then.
  if (rule && rule.threshold === undefined && rule.below === undefined && rule.above === undefined && r.trainer === undefined) {
    r.converged = { ...rule, threshold: DEFAULT_RULE.threshold };
  }
  return sha256(canonicalJson(r));
}

/**
 * Whether two recorded specs are the same sweep: equal hashes, or (for databases that recorded a
 * hash of the raw text) recorded texts that parse to the same canonical spec.
 */
export function sameSpec(a: { hash: string; text: string }, b: { hash: string; text: string }): boolean {
  if (a.hash === b.hash) return true;
  const ha = hashOfText(a.text);
  return ha !== undefined && ha === hashOfText(b.text);
}

function hashOfText(text: string): string | undefined {
  try {
    return parseSpec(text, 'recorded spec').source.hash;
  } catch {
    return undefined;
  }
}

export interface ParseOptions {
  /** `--set` overrides, applied in order before validation. */
  overrides?: SpecOverride[];
  /**
   * What a module trainer exports besides `train` (its declarations and metric directions), read
   * by parseSpecAsync / loadSpecAsync. Absent: the module is taken to export neither, so only the
   * file's `params:` are declared.
   */
  trainerExports?: TrainerExports;
}

/** The parts of a module trainer's exports the spec uses (validated). */
export interface TrainerExports {
  params?: Record<string, DeclaredParam>;
  metrics?: Record<string, MetricDirection>;
}

/** A parsed YAML document with its overrides applied: the raw value, its lines, and where each issue points. */
export interface SpecDocument {
  doc: Document;
  lc: LineCounter;
  raw: Record<string, unknown>;
  lineOf: (path: Path) => number | undefined;
  locate: Locate;
  path: string;
  text: string;
  overrides: SpecOverride[];
}

/** YAML → document, overrides applied; refuses malformed YAML and a non-mapping. */
export function readSpecDocument(text: string, path: string, overrides: SpecOverride[] = []): SpecDocument {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    const line = lc.linePos(yamlErr.pos[0]).line;
    const msg = yamlErr.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConvergeError('spec.yaml', `${path}:${line}: malformed YAML: ${msg}`);
  }
  if (overrides.length && !isMap(doc.contents)) {
    throw new ConvergeError('spec.invalid', `${path}:1: expected a mapping with at least "name:", got ${describeValue(doc.toJS())}`);
  }
  for (const o of overrides) {
    try {
      doc.setIn(o.path, doc.createNode(o.value));
    } catch {
      throw new ConvergeError('spec.badSet', `--set ${o.arg}: ${pathString(o.path.slice(0, -1))} is not a mapping or list in ${path}, so it has no key "${String(o.path[o.path.length - 1])}"`);
    }
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConvergeError('spec.invalid', `${path}:1: expected a mapping with at least "name:", got ${describeValue(raw)}`);
  }
  const lineOf = lineFinder(doc, lc);
  return { doc, lc, raw: raw as Record<string, unknown>, lineOf, locate: locator(path, overrides, lineOf), path, text, overrides };
}

/** The first zod issue as one line with file:line (or the `--set` that caused it), unknown keys with a did-you-mean. */
export function refuseIssue(
  d: SpecDocument,
  first: z.core.$ZodIssue,
  keysAt: (path: Path) => string[],
  misplacedKey: (ipath: Path, key: string) => string | undefined = () => undefined,
): never {
  const issue = unionBranchIssue(first, d.raw);
  const ipath = issue.path as Path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const { where } = d.locate([...ipath, key], keyLine(d.doc, d.lc, ipath, key) ?? d.lineOf(ipath));
    const at = ipath.length ? `${pathString(ipath)}: ` : '';
    const home = misplacedKey(ipath, key);
    if (home) throw new ConvergeError('spec.unknownKey', `${where}: ${home}`);
    const allowed = keysAt(ipath);
    const guess = didYouMean(key, allowed);
    throw new ConvergeError('spec.unknownKey', `${where}: ${at}unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : `; allowed: ${allowed.join(', ')}`}`);
  }
  const { where, label } = d.locate(ipath);
  const l = label(ipath);
  throw new ConvergeError('spec.invalid', `${where}: ${l ? `${l}: ` : ''}${issueMessage(issue, d.raw)}`);
}

/** Parse and validate sweep text; `path` is used in messages. Throws ConvergeError (spec.*). */
export function parseSpec(text: string, path: string, options: ParseOptions = {}): SweepSpec {
  const overrides = options.overrides ?? [];
  const d = readSpecDocument(text, path, overrides);
  if (isUserTrainer(d.raw.trainer)) return parseUserSpec(d, options.trainerExports ?? {});
  const { doc, lineOf, locate, raw } = d;
  if (raw.params !== undefined) {
    const { where } = locate(['params'], keyLine(doc, d.lc, [], 'params'));
    throw new ConvergeError(
      'spec.unknownKey',
      `${where}: params: declares the parameters of your own trainer (trainer: {module: …} or {command: […]}); the built-in trainer's parameters go under data:, model: and train:`,
    );
  }
  const rawRule = raw.converged as Record<string, unknown> | undefined;
  if (rawRule && typeof rawRule === 'object' && 'above' in rawRule) {
    const { where } = locate(['converged', 'above']);
    throw new ConvergeError('spec.invalid', `${where}: converged.above: the built-in trainer's metrics are errors (lower is better); use below: or threshold:`);
  }
  const parsed = SweepFileSchema.safeParse(raw);
  if (!parsed.success) refuseIssue(d, parsed.error.issues[0]!, allowedKeys, misplaced);
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
  for (const axis of Object.keys(grid) as ParamName[]) {
    const section = PARAMS[axis].section;
    const set = section === 'top' ? f.engine !== undefined : (f[section] as Record<string, unknown> | undefined)?.[axis] !== undefined;
    if (set) {
      const { where } = locate(['grid', axis]);
      throw new ConvergeError(
        'spec.conflict',
        `${where}: grid.${axis}: "${axis}" is also set ${section === 'top' ? 'at the top level' : `under ${section}:`}; give one value there or several in grid, not both`,
      );
    }
  }
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
  const { repeats, adaptive } = repeatsOf(f.repeats, path, lineOf);
  const search = f.search ? searchSpec(f.search, { path, lineOf, repeats, grid, cases }) : undefined;
  if (search) checkBudgets(search, { path, lineOf, base, grid, cases });
  const converged = builtinRule(f.converged, locate);
  refuseRuleWithoutValidation(converged, { base, grid, cases, forAxes: search?.for ?? {} }, locate, lineOf(['converged', 'metric']));
  f.compare?.forEach((text, i) => checkComparison(text, `${path}:${lineOf(['compare', i]) ?? 1}: compare[${i}]`));
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
    converged,
    impossible: f.impossible,
    trainer: { kind: 'builtin' },
    declared: {},
    metrics: {},
    ...(f.devices ? { devices: f.devices.map(String) } : {}),
    ...(f.compare ? { compare: f.compare } : {}),
    source: { path, text: overrides.length ? recordedText(doc, overrides) : text, hash: specHash(f) },
    lineOf,
  };
}

/** `repeats:` as a number of seeds, or adaptive repeats {min, max, batch, until} checked for consistency. */
export function repeatsOf(rep: ParsedSweepFile['repeats'], path: string, lineOf: (p: Path) => number | undefined): { repeats: number; adaptive?: AdaptiveRepeatsSpec } {
  if (typeof rep === 'number') return { repeats: rep };
  if (rep.max < rep.min) {
    throw new ConvergeError('spec.invalid', `${path}:${lineOf(['repeats', 'max']) ?? 1}: repeats.max: expected at least min (${rep.min}), got ${rep.max}`);
  }
  if (rep.until.ci_width === undefined && rep.until.decide === undefined) {
    throw new ConvergeError('spec.invalid', `${path}:${lineOf(['repeats', 'until']) ?? 1}: repeats.until: expected ci_width, decide or both, got neither`);
  }
  const adaptive: AdaptiveRepeatsSpec = {
    min: rep.min,
    max: rep.max,
    ...(rep.batch !== undefined ? { batch: rep.batch } : {}),
    until: { ...(rep.until.ci_width !== undefined ? { ciWidth: rep.until.ci_width } : {}), ...(rep.until.decide !== undefined ? { decide: rep.until.decide } : {}) },
  };
  return { repeats: rep.min, adaptive };
}

/** The built-in trainer's rule: `threshold:` or its synonym `below:` (default DEFAULT_RULE.threshold), at the last epoch or the best. */
function builtinRule(c: ParsedSweepFile['converged'], locate: Locate): Rule {
  if (!c) return { ...DEFAULT_RULE };
  if (c.threshold !== undefined && c.below !== undefined) {
    const { where } = locate(['converged', 'below']);
    throw new ConvergeError('spec.conflict', `${where}: converged.below: the rule already has threshold: (the same thing); give one of them`);
  }
  // `at: last` is what a rule without `at` means: left out, so such rules equal the ones stored before it existed.
  return { metric: c.metric, threshold: c.threshold ?? c.below ?? DEFAULT_RULE.threshold, ...(c.at === 'best' ? { at: 'best' as const } : {}) };
}

/**
 * A rule on a validation metric cannot score a cell with test_fraction 0: its runs have no
 * validation rows, so every one would lack the metric. Refused at load, pointing at the first
 * place a 0 reaches a cell (a grid or search.for value, a case, or the base value where a cell keeps it).
 */
function refuseRuleWithoutValidation(
  rule: Rule,
  s: { base: Partial<Record<ParamName, ParamValue>>; grid: Partial<Record<ParamName, ParamValue[]>>; cases: Partial<Record<ParamName, ParamValue>>[]; forAxes: Partial<Record<ParamName, ParamValue[]>> },
  locate: Locate,
  ruleLine: number | undefined,
): void {
  if (!VALIDATION_METRICS.has(rule.metric as RuleMetric)) return;
  const axis = 'test_fraction';
  const zeroAt = (values: ParamValue[] | undefined) => (values ?? []).indexOf(0);
  let at: Path | undefined;
  if (zeroAt(s.grid[axis]) >= 0) at = ['grid', axis, zeroAt(s.grid[axis])];
  else if (zeroAt(s.forAxes[axis]) >= 0) at = ['search', 'for', axis, zeroAt(s.forAxes[axis])];
  else if (s.cases.some((c) => c[axis] === 0)) at = ['cases', s.cases.findIndex((c) => c[axis] === 0), axis];
  else if (s.base[axis] === 0 && (s.cases.length === 0 || s.cases.some((c) => c[axis] === undefined))) at = ['data', axis];
  if (!at) return;
  const { where, label } = locate(at);
  throw new ConvergeError(
    'spec.noValidationRows',
    `${where}: ${label(at) || axis}: 0 leaves no validation rows, but the rule's metric ${rule.metric} (converged.metric${ruleLine ? `, line ${ruleLine}` : ''}) is measured on them; use pop_mae (all seq_len + 1 rows) or a test_fraction above 0`,
  );
}

/** A `compare:` entry parses, and names only settings (and seeds) in its groups and `by`. */
export function checkComparison(text: string, at: string, settings: readonly string[] = PARAM_NAMES): void {
  // What a run is (its settings and seed), never how it ended.
  const selectable = [...settings, 'seed', 'repeat'];
  let phrase;
  try {
    phrase = parseComparisonPhrase(text);
  } catch (e) {
    throw new ConvergeError('spec.invalid', `${at}: ${(e as Error).message}`);
  }
  const names = [phrase.a, phrase.b, ...(phrase.where ? [phrase.where] : [])].flatMap((p) => filterNames(p.filter));
  const unknown = [...names.filter((n) => !selectable.includes(n)), ...phrase.by.filter((n) => !settings.includes(n))];
  if (unknown.length > 0) {
    const hint = didYouMean(unknown[0]!, settings);
    throw new ConvergeError(
      'spec.invalid',
      `${at}: "${text}": "${unknown[0]}" is not a setting${hint ? ` (did you mean ${hint}?)` : ''}; a comparison selects runs by settings and seed: ${settings.join(', ')}`,
    );
  }
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
  const budgets = raw.budgets ? [...new Set(raw.budgets)].sort((a, b) => a - b) : undefined;
  return { axis, for: forAxes, range: raw.range as [number | string, number | string], target: raw.target, among, precision: raw.precision, budget: raw.budget, ...(budgets ? { budgets } : {}) };
}

/**
 * Epoch budgets are read from stored epochs, so every run must train at least the largest one:
 * refused when a cell's epochs (base, grid or search.for) is below it.
 */
function checkBudgets(search: SearchSpec, c: { path: string; lineOf: (p: Path) => number | undefined; base: Partial<Record<ParamName, ParamValue>>; grid: Partial<Record<ParamName, ParamValue[]>>; cases: Partial<Record<ParamName, ParamValue>>[] }): void {
  if (!search.budgets) return;
  const top = search.budgets[search.budgets.length - 1]!;
  const epochs = [c.base.epochs, ...(c.grid.epochs ?? []), ...(search.for.epochs ?? []), ...c.cases.map((x) => x.epochs)].filter((e): e is number => typeof e === 'number');
  const fewest = Math.min(...(epochs.length ? epochs : [PARAMS.epochs.default]));
  if (fewest < top) {
    throw new ConvergeError('spec.invalid', `${c.path}:${c.lineOf(['search', 'budgets']) ?? 1}: search.budgets: ${top} epochs is more than the runs train (train.epochs ${fewest}); set train.epochs to at least ${top}`);
  }
}

/**
 * The spec text recorded with `--set`: the file with the overrides applied (comments kept) and
 * a first line naming them, so `status`, resume and the spec versions see what actually ran.
 */
export function recordedText(doc: Document, overrides: SpecOverride[]): string {
  return `# converge ${overrides.map((o) => `--set ${o.arg}`).join(' ')}\n${doc.toString()}`;
}

/**
 * Read and validate a sweep file, with `--set key=value` overrides applied before validation. A
 * module trainer's exports are not read here (see loadSpecAsync, which the CLI uses).
 */
export function loadSpec(file: string, set: string[] = []): SweepSpec {
  return parseSpec(loadSpecText(file), file, { overrides: set.map(parseOverride) });
}

/** A sweep file's text; refuses a folder, a database and an unreadable path. */
export function loadSpecText(file: string): string {
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
  return text;
}
