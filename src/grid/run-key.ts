import { createHash } from 'node:crypto';
import type { ParamName, ParamValue } from '../spec';

/** JSON with sorted keys: the same parameters always give the same text. */
export function canonicalJson(params: Partial<Record<ParamName, ParamValue>>): string {
  const keys = Object.keys(params).sort() as ParamName[];
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(params[k])}`).join(',')}}`;
}

/**
 * A run's identity: a hash of every resolved parameter plus its seed. Resume, duplicate
 * detection, shard assignment and merge all key on it, so a run whose parameters changed is a
 * different run and never mixes with the old one.
 */
export function runKeyOf(paramsJson: string, seed: number): string {
  return createHash('sha256').update(`${paramsJson}#seed=${seed}`).digest('hex').slice(0, 20);
}

export function cellKeyOf(paramsJson: string): string {
  return createHash('sha256').update(paramsJson).digest('hex').slice(0, 20);
}
