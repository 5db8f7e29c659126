import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConvergeError, didYouMean } from '../errors';
import type { Rule } from '../outcome';
import { checkArgv, RUN_PLACEHOLDERS } from '../trainer/argv';
import { checkProgram } from '../trainer/program';
import type { DeclaredParam, MetricDirection, TrainerSpec } from '../trainer/types';
import { checkComparison, recordedText, refuseIssue, repeatsOf, specHash, type SpecDocument, type TrainerExports } from './load';
import { type ParamName, type ParamValue, type ResolvedParams, type SearchSpec, type SweepSpec, type UserSweepFile, UserSweepFileSchema } from './schema';
import { keyLine, pathString, type Path } from './where';

/**
 * The sweep of a module or command trainer (issue 18): its parameters are declared, so every
 * name in grid, cases and search is checked against the declarations (type, bounds, values),
 * with file:line and a did-you-mean, before anything is written.
 */

/** `trainer:` names a module or a command (a mapping), not the built-in LSTM (absent or `builtin`). */
export function isUserTrainer(trainer: unknown): boolean {
  return trainer !== undefined && trainer !== 'builtin';
}

/** Keys of the built-in trainer that a user trainer has no use for. */
const BUILTIN_ONLY = ['data', 'model', 'train', 'engine', 'impossible'] as const;

const TRAINER_KEYS = { module: ['module'], command: ['command', 'grace'] } as const;

/** Keys allowed at a path of a user-trainer file, for "did you mean". */
function userKeysAt(declared: readonly string[]) {
  return (path: Path): string[] => {
    if (path.length === 0) return Object.keys(UserSweepFileSchema.shape);
    const head = path[0];
    if (head === 'grid' || head === 'cases') return [...declared];
    if (head === 'converged') return ['metric', 'below', 'above', 'threshold', 'at'];
    if (head === 'search') return path.length === 1 ? ['axis', 'for', 'range', 'target', 'among', 'precision', 'budget'] : [...declared];
    if (head === 'repeats') return path.length === 1 ? ['min', 'max', 'batch', 'until'] : ['ci_width', 'decide'];
    if (head === 'params') return ['type', 'default', 'min', 'max', 'values', 'doc'];
    if (head === 'trainer') return [...TRAINER_KEYS.module, ...TRAINER_KEYS.command];
    return [];
  };
}

const TYPE_WORD: Record<DeclaredParam['type'], string> = { integer: 'an integer', number: 'a number', boolean: 'true or false', string: 'a string' };

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Why `v` is not a value of declared parameter `p` ("expected an integer >= 1, got 0"), or undefined. */
export function declaredValueProblem(p: DeclaredParam, v: unknown): string | undefined {
  const bounds = [p.min !== undefined ? `>= ${p.min}` : '', p.max !== undefined ? `<= ${p.max}` : ''].filter(Boolean).join(' and ');
  const expected = `${TYPE_WORD[p.type]}${bounds ? ` ${bounds}` : ''}`;
  const got = Array.isArray(v) ? 'a list' : v !== null && typeof v === 'object' ? 'a mapping' : show(v);
  const typeOk =
    p.type === 'integer' ? typeof v === 'number' && Number.isInteger(v) : p.type === 'number' ? typeof v === 'number' && Number.isFinite(v) : p.type === 'boolean' ? typeof v === 'boolean' : typeof v === 'string';
  if (!typeOk) return `expected ${expected}, got ${got}`;
  if (typeof v === 'number' && ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max))) return `expected ${expected}, got ${got}`;
  if (p.values && !p.values.some((x) => x === v)) return `expected one of ${p.values.map(show).join(', ')}, got ${got}`;
  return undefined;
}

/** A declaration that contradicts itself (a default out of bounds, min above max, bounds on a string). */
function declarationProblem(p: DeclaredParam): string | undefined {
  if ((p.min !== undefined || p.max !== undefined) && p.type !== 'integer' && p.type !== 'number') return `min/max bound numbers; a ${p.type} parameter has none`;
  if (p.min !== undefined && p.max !== undefined && p.min > p.max) return `min ${p.min} is above max ${p.max}`;
  const bare: DeclaredParam = { type: p.type, ...(p.min !== undefined ? { min: p.min } : {}), ...(p.max !== undefined ? { max: p.max } : {}) };
  for (const [i, v] of (p.values ?? []).entries()) {
    const why = declaredValueProblem(bare, v);
    if (why) return `values[${i}]: ${why}`;
  }
  if (p.default !== undefined) {
    const why = declaredValueProblem(p, p.default);
    if (why) return `default: ${why}`;
  }
  return undefined;
}

/** A declaration as SweepSpec keeps it (no undefined fields). */
function cleanDeclaration(p: DeclaredParam): DeclaredParam {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as DeclaredParam;
}

function userTrainer(d: SpecDocument, f: UserSweepFile): { trainer: TrainerSpec; grace?: number } {
  const folder = dirname(resolve(d.path));
  const t = f.trainer;
  if ('module' in t) {
    const abs = resolve(folder, t.module);
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      const { where } = d.locate(['trainer', 'module']);
      throw new ConvergeError('spec.moduleNotFound', `${where}: trainer.module: no file at ${abs}; the path is relative to the sweep file's folder`);
    }
    return { trainer: { kind: 'module', module: abs, written: t.module } };
  }
  const { where } = d.locate(['trainer', 'command', 0]);
  checkProgram(t.command[0]!, { cwd: folder, where: `${where}: trainer.command[0]` });
  return { trainer: { kind: 'command', command: [...t.command], cwd: folder }, ...(t.grace !== undefined ? { grace: t.grace } : {}) };
}

/** Refuse a `trainer:` mapping that is neither {module} nor {command[, grace]}, naming the key that does not fit. */
function checkTrainerShape(d: SpecDocument): void {
  const t = d.raw.trainer;
  const { where } = d.locate(['trainer']);
  const expected = 'expected builtin, {module: ./trainer.mjs} or {command: [program, args…]}';
  if (t === null || typeof t !== 'object' || Array.isArray(t)) {
    throw new ConvergeError('spec.invalid', `${where}: trainer: ${expected}, got ${typeof t === 'string' ? JSON.stringify(t) : Array.isArray(t) ? 'a list' : String(t)}`);
  }
  const keys = Object.keys(t);
  const kind = 'module' in t ? 'module' : 'command' in t ? 'command' : undefined;
  if ('module' in t && 'command' in t) throw new ConvergeError('spec.conflict', `${where}: trainer: give module or command, not both`);
  const allowed: readonly string[] = kind ? TRAINER_KEYS[kind] : [...TRAINER_KEYS.module, ...TRAINER_KEYS.command];
  const odd = keys.find((k) => !allowed.includes(k));
  if (odd !== undefined || !kind) {
    const key = odd ?? keys[0];
    const line = key !== undefined ? keyLine(d.doc, d.lc, ['trainer'], key) : undefined;
    const at = d.locate(['trainer', ...(key !== undefined ? [key] : [])], line).where;
    const guess = key !== undefined ? didYouMean(key, allowed) : undefined;
    throw new ConvergeError('spec.unknownKey', `${at}: trainer: ${key !== undefined ? `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; ` : ''}${expected}`);
  }
}

/** The direction of the rule: below:/above: as written, or threshold: with the module's exported direction. */
function userRule(d: SpecDocument, f: UserSweepFile, metrics: Readonly<Record<string, MetricDirection>>, kind: 'module' | 'command'): Rule {
  const c = f.converged;
  if (!c) {
    throw new ConvergeError('spec.noRule', `${d.path}:1: converged: a ${kind} trainer's sweep needs a rule naming a metric it reports, e.g. converged: {metric: loss, below: 0.05} or {metric: accuracy, above: 0.9}`);
  }
  const given = (['below', 'above', 'threshold'] as const).filter((k) => c[k] !== undefined);
  if (given.length !== 1) {
    const { where } = d.locate(['converged']);
    throw new ConvergeError(
      'spec.invalid',
      `${where}: converged: ${given.length ? `give one of ${given.join(', ')}, not ${given.length}` : 'no threshold: write below: x (lower is better, e.g. a loss) or above: x (higher is better, e.g. an accuracy)'}`,
    );
  }
  const at = c.at ?? 'last';
  if (c.below !== undefined) return { metric: c.metric, threshold: c.below, direction: 'below', at };
  if (c.above !== undefined) return { metric: c.metric, threshold: c.above, direction: 'above', at };
  const direction = metrics[c.metric];
  if (!direction) {
    const { where } = d.locate(['converged', 'threshold']);
    const why = kind === 'module' ? `the module exports no direction for "${c.metric}" (export const metrics = {${c.metric}: 'below'})` : 'a command trainer has no metric directions';
    throw new ConvergeError('spec.ruleDirection', `${where}: converged.threshold: ${why}; write below: ${c.threshold} or above: ${c.threshold} instead`);
  }
  return { metric: c.metric, threshold: c.threshold!, direction, at };
}

/** Parse a user-trainer sweep (the raw document is already read): see the file comment. */
export function parseUserSpec(d: SpecDocument, exported: TrainerExports): SweepSpec {
  const { path, raw, locate, lineOf } = d;
  for (const key of BUILTIN_ONLY) {
    if (raw[key] === undefined) continue;
    const { where } = locate([key], keyLine(d.doc, d.lc, [], key));
    throw new ConvergeError(
      'spec.builtinOnly',
      `${where}: ${key}: belongs to the built-in trainer; your trainer's parameters are declared under params: (type, default, min, max, values) and varied in grid: or cases:`,
    );
  }
  checkTrainerShape(d);
  const fileDeclared = (raw.params !== null && typeof raw.params === 'object' ? Object.keys(raw.params) : []) as string[];
  const parsed = UserSweepFileSchema.safeParse(raw);
  const known = [...fileDeclared, ...Object.keys(exported.params ?? {})];
  // A declared parameter written at the top level: say where its values go.
  const misplaced = (ipath: Path, key: string) =>
    ipath.length === 0 && known.includes(key) ? `${key} is a declared parameter: give its value as params.${key}.default, or several under grid: (grid: {${key}: [...]})` : undefined;
  if (!parsed.success) refuseIssue(d, parsed.error.issues[0]!, userKeysAt(known), misplaced);
  const f = parsed.data;
  const kind = 'module' in f.trainer ? 'module' : 'command';
  // The trainer first: a missing module or program explains the rest (e.g. names only the module declares).
  const { trainer, grace } = userTrainer(d, f);

  const declared: Record<string, DeclaredParam> = {};
  for (const [name, p] of Object.entries(exported.params ?? {})) declared[name] = cleanDeclaration(p);
  for (const [name, p] of Object.entries(f.params ?? {})) declared[name] = cleanDeclaration(p as DeclaredParam);
  const names = Object.keys(declared).sort();
  for (const name of names) {
    const fromFile = f.params?.[name] !== undefined;
    const at = fromFile ? locate(['params', name]).where : `${path}: trainer.module's exported params`;
    if ((RUN_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new ConvergeError('spec.invalid', `${at}: params.${name}: "${name}" is the run's own value ({${name}}); give the parameter another name`);
    }
    const why = declarationProblem(declared[name]!);
    if (why) throw new ConvergeError('spec.invalid', `${at}: params.${name}: ${why}`);
  }

  const unknownName = (where: string, label: string, name: string): never => {
    const guess = didYouMean(name, names);
    const list = names.length ? `declared: ${names.join(', ')}` : 'no parameters are declared (params:)';
    throw new ConvergeError('spec.unknownKey', `${where}: ${label}: "${name}" is not a declared parameter${guess ? ` (did you mean "${guess}"?)` : ''}; ${list}`);
  };
  const checkValue = (p: Path, name: string, v: unknown) => {
    const why = declaredValueProblem(declared[name]!, v);
    if (why) {
      const { where, label } = locate(p);
      throw new ConvergeError('spec.invalid', `${where}: ${label(p) || pathString(p)}: ${why}`);
    }
  };
  const checkAxes = (section: Path, axes: Record<string, ParamValue[]>) => {
    for (const [name, values] of Object.entries(axes)) {
      const at = [...section, name];
      if (!(name in declared)) unknownName(locate(at, keyLine(d.doc, d.lc, section, name)).where, pathString(section), name);
      values.forEach((v, i) => checkValue([...at, i], name, v));
      if (new Set(values.map((v) => JSON.stringify(v))).size !== values.length) {
        throw new ConvergeError('spec.duplicateValue', `${locate(at).where}: ${pathString(at)}: a value is listed twice`);
      }
    }
  };

  const grid = (f.grid ?? {}) as Record<string, ParamValue[]>;
  checkAxes(['grid'], grid);
  const cases = (f.cases ?? []) as Record<string, ParamValue>[];
  cases.forEach((c, i) => {
    for (const [name, v] of Object.entries(c)) {
      if (!(name in declared)) unknownName(locate(['cases', i, name], keyLine(d.doc, d.lc, ['cases', i], name)).where, `cases[${i}]`, name);
      checkValue(['cases', i, name], name, v);
      if (name in grid) {
        throw new ConvergeError('spec.conflict', `${locate(['cases', i, name]).where}: cases[${i}].${name}: "${name}" is also a grid axis; set it in grid or in cases, not both`);
      }
    }
  });

  const { repeats, adaptive } = repeatsOf(f.repeats, path, lineOf);

  let search: SearchSpec | undefined;
  if (f.search) {
    const s = f.search;
    const at = (p: Path) => locate(['search', ...p]).where;
    const integers = names.filter((n) => declared[n]!.type === 'integer');
    if (!(s.axis in declared)) unknownName(at(['axis']), 'search.axis', s.axis);
    if (declared[s.axis]!.type !== 'integer') {
      throw new ConvergeError('spec.invalid', `${at(['axis'])}: search.axis: "${s.axis}" is a ${declared[s.axis]!.type} parameter; a search runs along a declared integer parameter${integers.length ? `: ${integers.join(', ')}` : ' (none is declared)'}`);
    }
    const forAxes = (s.for ?? {}) as Record<string, ParamValue[]>;
    checkAxes(['search', 'for'], forAxes);
    if (s.axis in forAxes) throw new ConvergeError('spec.conflict', `${at(['for', s.axis])}: "${s.axis}" is the searched axis; it cannot also have fixed values`);
    if (s.axis in grid) throw new ConvergeError('spec.conflict', `${locate(['grid', s.axis]).where}: grid.${s.axis}: "${s.axis}" is the searched axis (search.axis); remove it from grid`);
    if (cases.some((c) => s.axis in c)) throw new ConvergeError('spec.conflict', `${locate(['cases']).where}: cases: "${s.axis}" is the searched axis (search.axis); remove it from cases`);
    for (const k of Object.keys(forAxes)) if (k in grid) throw new ConvergeError('spec.conflict', `${at(['for', k])}: "${k}" is also a grid axis; set it in grid or in search.for, not both`);
    if (s.among === 'alive') {
      throw new ConvergeError('spec.invalid', `${at(['among'])}: search.among: alive counts runs alive at initialisation, which only the built-in trainer measures; use all (the default here)`);
    }
    if (s.budget < repeats) throw new ConvergeError('spec.invalid', `${at(['budget'])}: search.budget: expected at least the ${repeats} seeds a probe starts with (repeats), got ${s.budget}`);
    for (const [i, end] of s.range.entries()) {
      if (typeof end === 'number') checkValue(['search', 'range', i], s.axis, end);
    }
    search = { axis: s.axis as ParamName, for: forAxes as SearchSpec['for'], range: s.range as [number | string, number | string], target: s.target, among: 'all', precision: s.precision, budget: s.budget };
  }

  // A parameter without a default must get its value from every cell: a grid axis, search, or every case.
  for (const name of names) {
    if (declared[name]!.default !== undefined || name in grid || (search && (name === search.axis || name in search.for))) continue;
    if (cases.length > 0 && cases.every((c) => name in c)) continue;
    const fromFile = f.params?.[name] !== undefined;
    const where = fromFile ? locate(['params', name]).where : `${path}:1`;
    throw new ConvergeError('spec.missingParam', `${where}: params.${name}: has no default, and no grid axis${search ? ', search' : ''} or case sets it; give it a default or values`);
  }

  if (trainer.kind === 'command') {
    checkArgv(trainer.command, names, (i) => `${locate(['trainer', 'command', i]).where}: trainer.command[${i}]`);
  }
  const metrics: Record<string, MetricDirection> = { ...(exported.metrics ?? {}) };
  const converged = userRule(d, f, metrics, kind);
  f.compare?.forEach((text, i) => checkComparison(text, `${locate(['compare', i]).where}: compare[${i}]`, names));

  const base: Record<string, ParamValue> = {};
  for (const name of names) if (declared[name]!.default !== undefined) base[name] = declared[name]!.default!;
  return {
    name: f.name,
    ...(f.description !== undefined ? { description: f.description } : {}),
    seed: f.seed,
    repeats,
    ...(adaptive ? { adaptive } : {}),
    ...(search ? { search } : {}),
    base: base as Partial<ResolvedParams>,
    grid: grid as SweepSpec['grid'],
    cases: cases as SweepSpec['cases'],
    converged,
    impossible: 'refuse',
    trainer,
    declared,
    metrics,
    ...(f.devices ? { devices: f.devices.map(String) } : {}),
    ...(grace !== undefined ? { grace } : {}),
    ...(f.compare ? { compare: f.compare } : {}),
    source: { path, text: d.overrides.length ? recordedText(d.doc, d.overrides) : d.text, hash: specHash(f) },
    lineOf,
  };
}

/** The parameters of a user-trainer run, by name (sorted): the declared ones; none for the built-in trainer. */
export function userParamsOf(spec: Pick<SweepSpec, 'trainer' | 'declared'>): string[] {
  return spec.trainer.kind === 'builtin' ? [] : Object.keys(spec.declared).sort();
}
