import { parseDocument } from 'yaml';
import { SweepFileSchema, type SweepSpec, UserSweepFileSchema } from './schema';
import { isUserTrainer } from './user';

const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys of two objects: a's in order, then each key only b has after its predecessor in b. */
function unionKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out = Object.keys(a).filter((k) => a[k] !== undefined);
  let at = 0;
  for (const k of Object.keys(b)) {
    if (b[k] === undefined) continue;
    const i = out.indexOf(k);
    if (i >= 0) at = i + 1;
    else out.splice(at++, 0, k);
  }
  return out;
}

/** One line per leaf that differs: objects are walked key by key, anything else compared whole. */
function diffValues(path: string, a: unknown, b: unknown, out: string[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const k of unionKeys(a, b)) diffValues(path ? `${path}.${k}` : k, a[k], b[k], out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${show(a)} → ${show(b)}`);
}

/**
 * The spec as validated: every key the user can write, with the schema's defaults. The spec hash
 * (load.ts specHash) covers the same minus $schema, description and compare, so two specs with different
 * hashes always differ here. Labels are the YAML paths: `train.epochs`, `repeats.max`, `search.budget`.
 */
function validatedFile(text: string): unknown {
  const raw = parseDocument(text, { uniqueKeys: true }).toJS() as Record<string, unknown> | null;
  return (isUserTrainer(raw?.trainer) ? UserSweepFileSchema : SweepFileSchema).parse(raw);
}

/**
 * What changed between two versions of a sweep, in the user's words: `train.epochs: 3 → 4`,
 * `grid.n_samples: [10] → [10,20]`, `repeats: 2 → 5`, `search.budget: 100 → 200`. Generic over
 * the validated spec, so a key added to the schema is covered without a change here; empty only
 * when the two specs validate to the same thing (a change of comments or formatting). Used by
 * `run` and `status`.
 */
export function diffSpecs(before: SweepSpec, after: SweepSpec): string[] {
  const out: string[] = [];
  diffValues('', validatedFile(before.source.text), validatedFile(after.source.text), out);
  return out;
}

/** The same, from the recorded spec text of the previous version (which may no longer parse). */
export function diffSpecText(beforeText: string, after: SweepSpec): string[] {
  try {
    // The validated file is enough (a module trainer's exports are not needed to say what changed).
    const out: string[] = [];
    diffValues('', validatedFile(beforeText), validatedFile(after.source.text), out);
    return out;
  } catch {
    return ['the previous spec no longer validates; runs were matched by their parameters'];
  }
}
