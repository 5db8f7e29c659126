/**
 * What a report is about, said once at its top in every format: the sweep and its description,
 * the rule, the engine and seeds, the settings every run shares, where the data came from.
 */
import { formatParamValue } from './cells';
import type { ParamValue, ReportInput } from './types';

/** Facts about a report that are not in its runs: where they came from and how they were selected. */
export interface ReportContext {
  description?: string | null;
  dbPath?: string;
  specPath?: string;
  specHash?: string;
  /** The --where expression, when one was given. */
  filter?: string | null;
}

export interface HeaderField { label: string; value: string }

/**
 * Parameters that take one value in every run, in name order: the settings not swept, and axes
 * a filter pinned to one value.
 */
export function fixedSettings(input: ReportInput): { name: string; value: ParamValue }[] {
  const names = [...new Set(input.runs.flatMap((r) => Object.keys(r.params)))].sort();
  const out: { name: string; value: ParamValue }[] = [];
  for (const n of names) {
    const values = new Set(input.runs.map((r) => JSON.stringify(r.params[n] ?? null)));
    if (values.size === 1 && input.runs[0]!.params[n] !== undefined) out.push({ name: n, value: input.runs[0]!.params[n]! });
  }
  return out;
}

function seedsText(input: ReportInput): string {
  const seeds = [...new Set(input.runs.map((r) => r.seed))].sort((a, b) => a - b);
  if (seeds.length === 0) return 'none';
  const contiguous = seeds[seeds.length - 1]! - seeds[0]! === seeds.length - 1;
  const list = contiguous && seeds.length > 2 ? `${seeds[0]}–${seeds[seeds.length - 1]}` : seeds.join(', ');
  return `${list} (${seeds.length} seed${seeds.length === 1 ? '' : 's'})`;
}

/** The header as labelled fields, in the order every format prints them. */
export function headerFields(input: ReportInput, ctx: ReportContext = {}): HeaderField[] {
  const fields: HeaderField[] = [];
  fields.push({ label: 'sweep', value: input.sweepName + (ctx.description ? `: ${ctx.description}` : '') });
  const user = input.trainer !== undefined && input.trainer !== 'builtin';
  const best = user && input.at === 'best';
  const at = input.epoch ? `${best ? 'at its best epoch up to' : 'at'} epoch ${input.epoch} (--epoch)` : best ? 'at its best epoch' : 'at its last epoch';
  fields.push({ label: 'rule', value: `a run converged when its ${input.metric} is ${user && input.direction === 'above' ? 'above' : 'below'} ${input.threshold} ${at}` });
  if (user) {
    fields.push({ label: 'trainer', value: input.trainer! });
    fields.push({ label: 'seeds', value: seedsText(input) });
    const fixed = fixedSettings(input);
    fields.push({ label: 'fixed', value: fixed.length > 0 ? fixed.map((f) => `${f.name}=${formatParamValue(f.value)}`).join(' ') : '–' });
    const fixedNames = new Set(fixed.map((f) => f.name));
    const swept = input.axes.filter((a) => !fixedNames.has(a));
    if (swept.length > 0) fields.push({ label: 'axes', value: swept.join(', ') });
    sourceFields(fields, ctx);
    return fields;
  }
  const engines = [...new Set(input.runs.map((r) => r.params.engine).filter((v) => v !== undefined).map((v) => formatParamValue(v!)))];
  fields.push({ label: 'engine', value: engines.length > 0 ? engines.join(', ') : '–' });
  fields.push({ label: 'seeds', value: seedsText(input) });
  const fixed = fixedSettings(input).filter((f) => f.name !== 'engine');
  fields.push({ label: 'fixed', value: fixed.length > 0 ? fixed.map((f) => `${f.name}=${formatParamValue(f.value)}`).join(' ') : '–' });
  const fixedNames = new Set(fixed.map((f) => f.name));
  const swept = input.axes.filter((a) => !fixedNames.has(a) && a !== 'engine');
  if (swept.length > 0) fields.push({ label: 'axes', value: swept.join(', ') });
  sourceFields(fields, ctx);
  return fields;
}

function sourceFields(fields: HeaderField[], ctx: ReportContext): void {
  const source = [
    ctx.dbPath ? `database ${ctx.dbPath}` : null,
    ctx.specPath ? `spec ${ctx.specPath}` : null,
    ctx.specHash ? `spec hash ${ctx.specHash.slice(0, 12)}` : null,
  ].filter((s): s is string => s !== null);
  if (source.length > 0) fields.push({ label: 'source', value: source.join(', ') });
  if (ctx.filter) fields.push({ label: 'filter', value: ctx.filter });
}

/** The header as text lines, identical in the table and markdown formats. */
export function headerLines(input: ReportInput, ctx: ReportContext = {}): string[] {
  return headerFields(input, ctx).map((f) => `${f.label}: ${f.value}`);
}
