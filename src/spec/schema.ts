import { z } from 'zod';
import { DEFAULT_RULE, RULE_METRICS, type Rule } from '../outcome';
import type { DeclaredParam, MetricDirection, TrainerSpec } from '../trainer/types';

/**
 * The sweep format: types and runtime checks side by side, in one place. Every trainable
 * setting is a *parameter* with a flat snake_case name (also its column in the `runs` table);
 * it has a home section (data, model, train) where its base value is set, and any parameter may
 * instead be an axis of `grid:` or a key of `cases:`. Defaults reproduce the seed answer's Keras
 * model exactly, including the settings where Keras 2.3 and tfjs-layers differ
 * (../shared/reference/seed-experiment.md).
 */

const posInt = z.int().min(1);
/** The type of every size-like parameter (seq_len, n_samples, units, epochs, batch_size). */
export const POSITIVE_INT = posInt;
const positive = z.number().positive();
const fraction = z.number().gt(0).lt(1);
/** 0 is allowed: no validation split, for rules that need none (pop_mae, the default). */
const testFraction = z.number().gte(0).lt(1);
const initializer = z.enum(['orthogonal', 'glorot_uniform', 'glorot_normal']);

export const PARAMS = {
  // data
  seq_len: { section: 'data', type: posInt, default: undefined, doc: 'sequence length L (timesteps)' },
  n_samples: { section: 'data', type: posInt, default: undefined, doc: 'rows drawn from the L+1 population; at most seq_len + 1' },
  test_fraction: { section: 'data', type: testFraction, default: 0.1, doc: 'floor(test_fraction * n_samples) last rows are the validation split; 0: no split, every row trains (val_loss/val_mae are then null)' },
  // model
  units: { section: 'model', type: posInt, default: 10, doc: 'LSTM units' },
  activation: { section: 'model', type: z.enum(['tanh']), default: 'tanh', doc: 'LSTM cell activation' },
  recurrent_activation: { section: 'model', type: z.enum(['sigmoid', 'hard_sigmoid']), default: 'sigmoid', doc: 'LSTM gate activation (Keras 2.3: sigmoid; Keras <= 2.2 and tfjs: hard_sigmoid)' },
  kernel_initializer: { section: 'model', type: initializer, default: 'orthogonal', doc: 'LSTM input kernel initializer (the answer: orthogonal; Keras default: glorot_uniform)' },
  kernel_gain: { section: 'model', type: positive, default: 0.01, doc: 'gain of the kernel initializer (the answer: 0.01; use 1 with glorot_uniform for the Keras default)' },
  recurrent_initializer: { section: 'model', type: initializer, default: 'orthogonal', doc: 'LSTM recurrent kernel initializer' },
  recurrent_gain: { section: 'model', type: positive, default: 1, doc: 'gain of the recurrent initializer' },
  unit_forget_bias: { section: 'model', type: z.boolean(), default: true, doc: 'forget-gate bias starts at 1 (Keras default true; tfjs default false)' },
  masking: { section: 'model', type: z.boolean(), default: true, doc: 'Masking(mask_value=0) before the LSTM' },
  output_activation: { section: 'model', type: z.enum(['relu', 'linear']), default: 'relu', doc: 'activation of the Dense(1) output' },
  // train
  epochs: { section: 'train', type: posInt, default: 50, doc: 'epochs per run' },
  batch_size: { section: 'train', type: posInt, default: 1, doc: 'batch size (the answer: 1; Keras default 32)' },
  optimizer: { section: 'train', type: z.enum(['adam']), default: 'adam', doc: 'optimizer' },
  learning_rate: { section: 'train', type: positive, default: 0.001, doc: 'Adam learning rate' },
  beta_1: { section: 'train', type: fraction, default: 0.9, doc: 'Adam beta_1' },
  beta_2: { section: 'train', type: fraction, default: 0.999, doc: 'Adam beta_2' },
  epsilon: { section: 'train', type: positive, default: 1e-7, doc: 'Adam epsilon (Keras/tfjs 1e-7)' },
  loss: { section: 'train', type: z.enum(['mse']), default: 'mse', doc: 'loss' },
  shuffle: { section: 'train', type: z.boolean(), default: true, doc: 'reshuffle the train rows every epoch (seeded)' },
  // top level
  engine: { section: 'top', type: z.enum(['fused', 'tfjs']), default: 'fused', doc: 'training engine: fused (fast, default) or tfjs (reference)' },
} as const;

export type ParamName = keyof typeof PARAMS;
export const PARAM_NAMES = Object.keys(PARAMS).sort() as ParamName[];
export type ParamValue = number | string | boolean;

/**
 * A parameter added to PARAMS after runs were stored carries `introduced`: the value that
 * reproduces the behaviour from before it existed (usually its default). A run at that value
 * leaves the parameter out of its key (grid/run-key.ts), so a release that adds a parameter
 * keeps every stored run key and retrains nothing; other values make new runs. Every parameter
 * of the first schema is in every key, as it always was: none of them has one.
 */
export interface IntroducedParam {
  section: 'data' | 'model' | 'train' | 'top';
  type: z.ZodType;
  default: ParamValue;
  doc: string;
  introduced: ParamValue;
}

/** The introduction value of parameter `name` (see IntroducedParam), or undefined. */
export function introductionValue(name: string): ParamValue | undefined {
  return (PARAMS as Record<string, { introduced?: ParamValue }>)[name]?.introduced;
}

/**
 * Test hook: add parameter `name` as a later release would (the store's column is the test's to
 * add, as that release's migration would), to check that run keys survive it. Spec files do not
 * accept it (the YAML schema is built once); set it through SweepSpec.base. Returns its removal.
 */
export function addParamForTest(name: string, param: IntroducedParam): () => void {
  const table = PARAMS as unknown as Record<string, IntroducedParam>;
  const names = PARAM_NAMES as string[];
  if (name in table) throw new Error(`addParamForTest: ${name} is already a parameter`);
  table[name] = param;
  names.push(name);
  names.sort();
  return () => {
    delete table[name];
    names.splice(names.indexOf(name), 1);
  };
}
/** A fully resolved run configuration: every parameter has a value. */
export type ResolvedParams = { [K in ParamName]: z.output<(typeof PARAMS)[K]['type']> };

type Section = 'data' | 'model' | 'train';

function sectionSchema(section: Section) {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, p] of Object.entries(PARAMS)) {
    if (p.section === section) shape[name] = (p.type as z.ZodType).optional().describe(p.doc);
  }
  return z.strictObject(shape).optional();
}

function paramsShape(wrap: (t: z.ZodType, doc: string) => z.ZodType) {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, p] of Object.entries(PARAMS)) shape[name] = wrap(p.type as z.ZodType, p.doc).optional();
  return shape;
}

/**
 * `threshold` has no schema default: `below:` may stand in for it, and a default would make the two
 * collide. loadSpec fills DEFAULT_RULE.threshold when neither is written, and specHash hashes such
 * a rule as it always did (with the threshold filled in).
 */
export const ConvergedSchema = z
  .strictObject({
    metric: z
      .enum(RULE_METRICS)
      .default('pop_mae')
      .describe('metric compared to the threshold at the final epoch: pop_mae/pop_loss over all L+1 rows (default), unseen_mae over the rows not drawn, val_mae/val_loss over the validation split, mae/loss over the train split'),
    threshold: positive.optional().describe(`a run converged when its final metric is below this (default ${DEFAULT_RULE.threshold})`),
    below: positive.optional().describe('the same as threshold: a run converged when its final metric is below this'),
    at: z.enum(['last', 'best']).optional().describe('the epoch scored: the last one (default) or the one where the metric is lowest'),
  })
  .describe('when a run counts as converged; changing it re-scores the stored runs, it trains nothing');

/** A declared parameter's value as a sweep file writes it. */
const DeclaredValue = z.union([z.number(), z.string(), z.boolean()]);

/** A declared parameter's name: usable as a `{name}` placeholder of a command. */
export const DECLARED_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const DeclaredParamSchema = z
  .strictObject({
    type: z.enum(['integer', 'number', 'boolean', 'string']).describe('the value type'),
    default: DeclaredValue.optional().describe('the value when no grid axis or case sets it; without one, every cell must set it'),
    min: z.number().optional().describe('inclusive lower bound (integer, number)'),
    max: z.number().optional().describe('inclusive upper bound (integer, number)'),
    values: z.array(DeclaredValue).min(1).optional().describe('the values allowed'),
    doc: z.string().optional().describe('what the parameter is'),
  })
  .describe('a parameter of a module or command trainer');

/** `params:` of a user trainer (also the shape of a module's exported `params`). */
export const DeclaredParamsSchema = z.record(z.string().regex(DECLARED_NAME, 'a name of letters, digits and "_", not starting with a digit'), DeclaredParamSchema);

const UserTrainerSchema = z.union([
  z.strictObject({ module: z.string().min(1).describe('a JavaScript module exporting async train(params, ctx); relative to the sweep file') }),
  z.strictObject({
    command: z.array(z.string()).min(1).describe('program and arguments, run without a shell; {name} stands for a declared parameter, {seed}, {run_id} or {run_dir}'),
    grace: positive.optional().describe('seconds between SIGTERM and SIGKILL when a run is stopped (default 5)'),
  }),
]);

const DevicesSchema = z
  .array(z.union([z.string().min(1), z.int().min(0)]))
  .min(1)
  .describe('devices runs are spread over, one run per device at a time (CONVERGE_DEVICE, CUDA_VISIBLE_DEVICES, ctx.device); run --devices overrides');

/** A user trainer's rule: any metric it reports, with a direction (below/above, or threshold with the module's exported direction). */
export const UserConvergedSchema = z
  .strictObject({
    metric: z.string().min(1).describe('a metric the trainer reports'),
    below: z.number().optional().describe('converged when the metric is below this'),
    above: z.number().optional().describe('converged when the metric is above this'),
    threshold: z.number().optional().describe("converged when the metric passes this, in the direction the module exports for it (metrics: {name: 'below' | 'above'})"),
    at: z.enum(['last', 'best']).optional().describe('the epoch scored: the last one (default) or the best one for the direction'),
  })
  .describe('when a run counts as converged; changing it re-scores the stored runs, it trains nothing');

const AdaptiveRepeatsSchema = z
  .strictObject({
    min: posInt.describe('seeds every cell starts with'),
    max: posInt.describe('at most this many seeds per cell'),
    batch: posInt.optional().describe('seeds added to an undecided cell at a time (default: min)'),
    until: z
      .strictObject({
        ci_width: z.number().gt(0).lte(1).optional().describe('add seeds while the 95% Wilson interval of the rate is wider than this'),
        decide: fraction.optional().describe('add seeds while the interval still contains this rate'),
      })
      .describe('when a cell is decided'),
  })
  .describe('adaptive repeats: seeds are added in batches only to cells whose rate is still undecided');

/** An end of a search range: an integer, or an expression in the other axes such as `seq_len+1`. */
const RangeEnd = z.union([z.int(), z.string().regex(/^[A-Za-z0-9_+\-*/(). ]+$/, 'an integer or an expression like "seq_len+1"')]);

const SearchSchema = z
  .strictObject({
    axis: z.string().describe('the integer-valued parameter to search along (e.g. n_samples)'),
    for: z
      .strictObject(paramsShape((t, doc) => z.array(t).min(1).describe(`one boundary per value: ${doc}`)))
      .optional()
      .describe('one boundary per combination of these values (crossed with grid and cases)'),
    range: z.tuple([RangeEnd, RangeEnd]).describe('inclusive bounds of the axis; expressions in the other parameters allowed, e.g. [10, seq_len+1], or [2, seq_len+1] with test_fraction: 0 (no validation row needed)'),
    target: fraction.default(0.5).describe('the convergence rate that defines the boundary'),
    among: z.enum(['alive', 'all']).optional().describe('count runs alive at initialisation only (alive, the default) or all runs'),
    precision: positive.default(0.25).describe('stop when the 95% interval of the boundary is narrower than this fraction of it'),
    budget: posInt.default(400).describe('at most this many runs per boundary'),
    budgets: z
      .array(posInt)
      .min(1)
      .optional()
      .describe('epoch budgets, e.g. [25, 50, 100, 200]: one answer per budget from the same runs re-scored at that epoch (no extra training); each at most train.epochs'),
  })
  .describe('search for the value of an axis where the convergence rate crosses a target (`converge search`)');

/** The raw sweep file, as a user writes it (optionals everywhere but name). */
export const SweepFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit')
      .describe('sweep name; the default database is results/<name>.db'),
    description: z.string().optional(),
    engine: PARAMS.engine.type.optional().describe(PARAMS.engine.doc),
    seed: z.int().min(0).max(2 ** 31 - 1).default(0).describe('base seed; run r of a cell uses seed + r'),
    repeats: z.union([posInt, AdaptiveRepeatsSchema]).default(1).describe('seeds per cell, or {min, max, until} to add seeds only where the rate is undecided'),
    search: SearchSchema.optional(),
    data: sectionSchema('data'),
    model: sectionSchema('model'),
    train: sectionSchema('train'),
    grid: z
      .strictObject(paramsShape((t, doc) => z.array(t).min(1).describe(`axis: ${doc}`)))
      .optional()
      .describe('axes: each parameter listed takes every value given; the cells are the cartesian product'),
    cases: z
      .array(z.strictObject(paramsShape((t, doc) => t.describe(doc))))
      .min(1)
      .optional()
      .describe('explicit combinations (e.g. seq_len/n_samples pairs), crossed with grid'),
    converged: ConvergedSchema.optional(),
    trainer: z.literal('builtin').optional().describe('the built-in LSTM task (the default)'),
    devices: DevicesSchema.optional(),
    compare: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('named comparisons for the HTML report, each "A vs B [where W] [by SETTING]", e.g. "batch_size=1 vs batch_size=16 by n_samples"'),
    impossible: z
      .enum(['refuse', 'skip'])
      .default('refuse')
      .describe('cells with n_samples > seq_len + 1 (or an empty split): refuse the spec, or skip and list them'),
  })
  .describe('A converge sweep definition');

const DeclaredValues = z.array(DeclaredValue).min(1);

const UserSearchSchema = z
  .strictObject({
    axis: z.string().describe('the declared integer parameter to search along'),
    for: z.record(z.string(), DeclaredValues).optional().describe('one boundary per combination of these values (crossed with grid and cases)'),
    range: z.tuple([RangeEnd, RangeEnd]).describe('inclusive bounds of the axis; expressions in the other parameters allowed'),
    target: fraction.default(0.5).describe('the convergence rate that defines the boundary'),
    among: z.enum(['alive', 'all']).optional().describe('a user trainer counts all runs (it has no alive-at-initialisation)'),
    precision: positive.default(0.25).describe('stop when the 95% interval of the boundary is narrower than this fraction of it'),
    budget: posInt.default(400).describe('at most this many runs per boundary'),
  })
  .describe('search for the value of an axis where the convergence rate crosses a target (`converge search`)');

/**
 * A sweep of a module or command trainer: its parameters are declared (`params:`), so grid, cases
 * and search name declared parameters (checked against the declarations after parsing, with
 * file:line), and the built-in sections (data, model, train, engine) do not exist.
 */
export const UserSweepFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: SweepFileSchema.shape.name,
    description: z.string().optional(),
    trainer: UserTrainerSchema.describe('a module ({module: ./trainer.mjs}) or a command ({command: [python3, train.py, "--lr", "{learning_rate}"]})'),
    params: DeclaredParamsSchema.optional().describe('the trainer\'s parameters; a module may export more (the file wins per name)'),
    seed: SweepFileSchema.shape.seed,
    repeats: SweepFileSchema.shape.repeats,
    search: UserSearchSchema.optional(),
    grid: z.record(z.string(), DeclaredValues).optional().describe('axes over declared parameters: the cells are the cartesian product'),
    cases: z.array(z.record(z.string(), DeclaredValue)).min(1).optional().describe('explicit combinations of declared parameters, crossed with grid'),
    converged: UserConvergedSchema.optional(),
    devices: DevicesSchema.optional(),
    compare: SweepFileSchema.shape.compare,
  })
  .describe('A converge sweep of your own trainer (a module or a command)');

export type SweepFile = z.input<typeof SweepFileSchema>;
export type UserSweepFile = z.output<typeof UserSweepFileSchema>;
export type ParsedSweepFile = z.output<typeof SweepFileSchema>;

/** The fully defaulted spec: validated once at load, trusted afterwards. */
export interface SweepSpec {
  name: string;
  description?: string;
  seed: number;
  /** Seeds every cell starts with (the number given, or `min` of adaptive repeats). */
  repeats: number;
  /** Adaptive repeats, when `repeats` is {min, max, until}. */
  adaptive?: AdaptiveRepeatsSpec;
  /** The `search:` block, when the spec defines a boundary search. */
  search?: SearchSpec;
  /** Base values of every parameter (before grid/cases). seq_len/n_samples may be unset when axes give them. */
  base: Partial<ResolvedParams>;
  grid: Partial<Record<ParamName, ParamValue[]>>;
  cases: Partial<Record<ParamName, ParamValue>>[];
  converged: Rule;
  impossible: 'refuse' | 'skip';
  /** Whose code trains the runs: the built-in LSTM (the default), a JS module or a command. */
  trainer: TrainerSpec;
  /** The parameters a module or command trainer declares (`params:`); empty for the built-in trainer. */
  declared: Readonly<Record<string, DeclaredParam>>;
  /** The metric directions a module trainer exports (`metrics: {loss: 'below'}`); empty otherwise. */
  metrics: Readonly<Record<string, MetricDirection>>;
  /** `devices:` as strings ("0", "1"); `run --devices` overrides. */
  devices?: string[];
  /** A command trainer's `grace:` in seconds (SIGTERM → SIGKILL); absent: the runner's default. */
  grace?: number;
  /** Named comparisons for the HTML report ("A vs B [where W] [by SETTING]"), checked at load. */
  compare?: string[];
  /** Source file and text, kept for the store (spec hash) and for error messages. */
  source: { path: string; text: string; hash: string };
  /** Line of a YAML path (for errors found after validation, e.g. impossible cells). */
  lineOf(path: (string | number)[]): number | undefined;
}

export interface AdaptiveRepeatsSpec {
  min: number;
  max: number;
  batch?: number;
  until: { ciWidth?: number; decide?: number };
}

export interface SearchSpec {
  axis: ParamName;
  /** One boundary per combination (crossed). */
  for: Partial<Record<ParamName, ParamValue[]>>;
  /** Range ends as written: an integer or an expression in the other parameters. */
  range: [number | string, number | string];
  target: number;
  among: 'alive' | 'all';
  precision: number;
  budget: number;
  /** Epoch budgets (ascending, distinct), each answered from the same runs re-scored at that epoch. */
  budgets?: number[];
}

/** Parameters a search may run along: the integer-valued ones. */
export const INTEGER_PARAMS: readonly ParamName[] = (Object.keys(PARAMS) as ParamName[]).filter((k) => (PARAMS[k].type as unknown) === posInt).sort();

/** JSON Schema of the sweep format, for editors (schema/sweep.schema.json is generated from it). */
export function sweepJsonSchema(): unknown {
  return z.toJSONSchema(z.union([SweepFileSchema, UserSweepFileSchema]).describe('A converge sweep definition: the built-in trainer, or your own (trainer: {module} or {command})'), { io: 'input' });
}
