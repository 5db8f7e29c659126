import { createHash } from 'node:crypto';
import { introductionValue, PARAM_NAMES, type ParamName, type ParamValue } from '../spec';
import type { TrainerSpec } from '../trainer/types';

/**
 * JSON with sorted keys: the same parameters always give the same text. A parameter at its
 * introduction value (spec/schema.ts IntroducedParam) is left out, so the text, and the keys
 * hashed from it, are what they were before the parameter existed.
 */
export function canonicalJson(params: Partial<Record<ParamName, ParamValue>>): string {
  return sortedJson(params, (Object.keys(params) as ParamName[]).filter((k) => params[k] !== introductionValue(k)));
}

function sortedJson(params: Partial<Record<string, ParamValue>>, keys: string[]): string {
  return `{${keys.sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(params[k])}`).join(',')}}`;
}

/**
 * The parameters a stored canonicalJson text stands for, as JSON: the ones it left out at their
 * introduction value put back, so whoever trains the run sees every parameter.
 */
export function resolvedParamsJson(json: string): string {
  const introduced = PARAM_NAMES.filter((k) => introductionValue(k) !== undefined);
  if (introduced.length === 0) return json;
  const params = JSON.parse(json) as Record<string, ParamValue>;
  for (const k of introduced) if (!(k in params)) params[k] = introductionValue(k)!;
  return sortedJson(params, Object.keys(params));
}

/**
 * A run's identity: a hash of its resolved parameters (canonicalJson) plus its seed. Resume,
 * duplicate detection, shard assignment and merge all key on it, so a run whose parameters
 * changed is a different run and never mixes with the old one.
 */
export function runKeyOf(paramsJson: string, seed: number): string {
  return createHash('sha256').update(`${paramsJson}#seed=${seed}`).digest('hex').slice(0, 20);
}

export function cellKeyOf(paramsJson: string): string {
  return createHash('sha256').update(paramsJson).digest('hex').slice(0, 20);
}

/**
 * A user trainer's identity in its run and cell keys: `module:<path as written>` or
 * `command:<argv template as JSON>`. The code's content hash is not in it (it is recorded per
 * run): editing the trainer keeps its runs, and report/compare say when a cell mixes versions.
 */
export function trainerIdentity(trainer: TrainerSpec): string {
  switch (trainer.kind) {
    case 'builtin':
      return 'builtin';
    case 'module':
      return `module:${trainer.written}`;
    case 'command':
      return `command:${JSON.stringify(trainer.command)}`;
  }
}

/** A user-trainer run's params_json: every declared parameter with its value, keys sorted. */
export function userParamsJson(params: Readonly<Record<string, ParamValue>>): string {
  return sortedJson(params, Object.keys(params));
}

/** Run key of a user-trainer run: its declared parameters, its trainer's identity and its seed. */
export function userRunKeyOf(paramsJson: string, identity: string, seed: number): string {
  return runKeyOf(`${paramsJson}#trainer=${identity}`, seed);
}

/** Cell key of a user-trainer cell: its declared parameters and its trainer's identity. */
export function userCellKeyOf(paramsJson: string, identity: string): string {
  return cellKeyOf(`${paramsJson}#trainer=${identity}`);
}
