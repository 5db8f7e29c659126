import { existsSync } from 'node:fs';
import { importModule } from '../trainer/import-module';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConvergeError } from '../errors';
import { loadSpecText, parseSpec, type ParseOptions, parseOverride, readSpecDocument, type TrainerExports } from './load';
import { DeclaredParamsSchema, type SweepSpec } from './schema';
import type { DeclaredParam, MetricDirection } from '../trainer/types';

/**
 * A module trainer's exports, read with a dynamic import: the spec needs its declarations
 * (`params`) and metric directions (`metrics`) to check grid names and rules, and refuses a
 * module that does not load or exports no `train` at load time, before anything is written.
 */

const MetricsSchema = z.record(z.string(), z.enum(['below', 'above']));

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/**
 * Import the module at absolute path `abs` and check its exports: `train` must be a function;
 * `params` (optional) has the shape of a sweep file's `params:`; `metrics` (optional) maps metric
 * names to 'below' or 'above'. `where` is the spec location (`sweep.yaml:3: trainer.module`).
 */
export async function readTrainerExports(abs: string, where: string): Promise<TrainerExports> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(abs);
  } catch (e) {
    throw new ConvergeError('spec.badModule', `${where}: cannot load ${abs}: ${firstLine(e)}`);
  }
  if (typeof mod.train !== 'function') {
    const has = Object.keys(mod).filter((k) => k !== 'default');
    throw new ConvergeError('spec.badModule', `${where}: ${abs} exports no train function${has.length ? ` (it exports ${has.join(', ')})` : ''}; export async function train(params, ctx)`);
  }
  const out: TrainerExports = {};
  if (mod.params !== undefined) {
    const p = DeclaredParamsSchema.safeParse(mod.params);
    if (!p.success) {
      const issue = p.error.issues[0]!;
      throw new ConvergeError('spec.badModule', `${where}: ${abs}: exported params${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
    }
    out.params = p.data as Record<string, DeclaredParam>;
  }
  if (mod.metrics !== undefined) {
    const m = MetricsSchema.safeParse(mod.metrics);
    if (!m.success) {
      const issue = m.error.issues[0]!;
      throw new ConvergeError('spec.badModule', `${where}: ${abs}: exported metrics${issue.path.length ? `.${issue.path.join('.')}` : ''}: expected 'below' or 'above' per metric name (${issue.message})`);
    }
    out.metrics = m.data as Record<string, MetricDirection>;
  }
  return out;
}

/**
 * parseSpec, with a module trainer's exports read first (its declarations and metric directions
 * join the file's; the file wins per parameter). Any other spec parses exactly as parseSpec does.
 */
export async function parseSpecAsync(text: string, path: string, options: Omit<ParseOptions, 'trainerExports'> = {}): Promise<SweepSpec> {
  const d = readSpecDocument(text, path, options.overrides ?? []);
  const t = d.raw.trainer;
  const written = t !== null && typeof t === 'object' && !Array.isArray(t) ? (t as Record<string, unknown>).module : undefined;
  // Only a well-formed module trainer is imported; parseSpec refuses any other shape with its line.
  if (typeof written !== 'string' || 'command' in (t as object)) return parseSpec(text, path, options);
  const abs = resolve(dirname(resolve(path)), written);
  // A missing file is parseSpec's refusal (spec.moduleNotFound, with its line).
  if (!existsSync(abs)) return parseSpec(text, path, options);
  const trainerExports = await readTrainerExports(abs, `${d.locate(['trainer', 'module']).where}: trainer.module`);
  return parseSpec(text, path, { ...options, trainerExports });
}

/** loadSpec for every trainer: a module trainer's exports are read (see parseSpecAsync). The CLI calls this. */
export async function loadSpecAsync(file: string, set: string[] = []): Promise<SweepSpec> {
  return parseSpecAsync(loadSpecText(file), file, { overrides: set.map(parseOverride) });
}

/** A spec with its module trainer's exports read (the CLI's step after a sync loadSpec). */
export async function resolveTrainer(spec: SweepSpec): Promise<SweepSpec> {
  if (spec.trainer.kind !== 'module') return spec;
  return parseSpecAsync(spec.source.text, spec.source.path);
}
