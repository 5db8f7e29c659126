import { isMap, type Document, type LineCounter } from 'yaml';

/**
 * Where a spec problem is: YAML paths to lines, the `--set` that wrote a key, and values as a
 * message shows them. Shared by the built-in and the user-trainer parts of the loader.
 */

export type Path = (string | number)[];

export function pathString(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top level)';
}

export function lineFinder(doc: Document, lc: LineCounter): (path: Path) => number | undefined {
  return (path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return lc.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** The line of key `key` inside the mapping at `path` (for unknown keys). */
export function keyLine(doc: Document, lc: LineCounter, path: Path, key: string): number | undefined {
  const parent = path.length ? doc.getIn(path, true) : doc.contents;
  if (isMap(parent)) {
    for (const pair of parent.items) {
      const k = pair.key as { value?: unknown; range?: [number, number, number] } | null;
      if (k && String(k.value) === key && k.range) return lc.linePos(k.range[0]).line;
    }
  }
  return undefined;
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

export function valueAt(root: unknown, path: Path): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/**
 * A `--set key=value` override of one spec key (Hydra-style): `train.epochs=100`,
 * `grid.n_samples=[80,130]`, `cases.0.seq_len=500`. The value is read as YAML.
 */
export interface SpecOverride {
  path: Path;
  value: unknown;
  /** As given on the command line, for messages and the recorded spec. */
  arg: string;
}

export type Locate = ReturnType<typeof locator>;

const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((p, i) => String(p) === String(path[i]));

/** Where an issue at `path` comes from: the `--set` that wrote it, or the file and line. */
export function locator(file: string, overrides: SpecOverride[], lineOf: (path: Path) => number | undefined) {
  return (path: Path, line?: number): { where: string; label: (p: Path) => string } => {
    const o = [...overrides].reverse().find((x) => startsWith(path, x.path));
    if (o) return { where: `--set ${o.arg}`, label: (p) => (p.length === o.path.length ? '' : pathString(p)) };
    return { where: `${file}:${line ?? lineOf(path) ?? 1}`, label: pathString };
  };
}
