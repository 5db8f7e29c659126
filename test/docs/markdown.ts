/**
 * The documentation as the doc tests read it: README.md and docs/*.md, their fenced blocks with
 * the marker comments on the lines before each, and their relative links.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';

export interface Doc {
  /** Path relative to the repository root, e.g. `docs/search.md`. */
  file: string;
  text: string;
}

export interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string: `sh`, `bash`, `console`, `yaml`, `text`, or ''. */
  lang: string;
  body: string;
  /** The `<!-- … -->` comment lines right before the fence (nearest last). */
  markers: string[];
}

export function docs(): Doc[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return files.map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));
}

export function blocks(doc: Doc): Block[] {
  const lines = doc.text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const markers: string[] = [];
    for (let j = start - 1; j >= 0 && /^<!--.*-->\s*$/.test(lines[j]!); j--) markers.unshift(lines[j]!);
    out.push({ file: doc.file, line: start + 1, lang: open[1]!, body: body.join('\n'), markers });
  }
  return out;
}

/** The shell languages a block can be written in; an untagged block counts as shell too. */
export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', '']);

/** The commands of a block: for `console`, the lines after `$ `; else every line. Comments removed. */
export function commandsOf(block: Block): string[] {
  const lines = block.lang === 'console' ? block.body.split('\n').filter((l) => l.startsWith('$ ')).map((l) => l.slice(2)) : block.body.split('\n');
  return lines.map((l) => stripComment(l).trim()).filter((l) => l.length > 0);
}

/** A shell line without its trailing `# comment` (a `#` outside quotes, after a space). */
export function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** Does this command line start `converge` (directly, through npx, or as the built main.js)? */
export function runsConverge(command: string): boolean {
  return command
    .split(/&&|\|\||;|\|/)
    .map((s) => s.trim().replace(/^(\w+=\S*\s+)*/, ''))
    .some((s) => /^(npx\s+)?converge\b/.test(s) || /^node\s+\S*dist\/src\/cli\/main\.js\b/.test(s));
}

/** The reason of a `<!-- doc-test: skip (reason) -->` marker, or undefined. */
export function skipReason(block: Block): string | undefined {
  for (const m of block.markers) {
    const r = /<!--\s*doc-test:\s*skip\s*\((.+)\)\s*-->/.exec(m);
    if (r) return r[1]!.trim();
  }
  return undefined;
}

/** The path a `<!-- doc-test: file PATH -->` marker saves the block as, or undefined. */
export function savedAs(block: Block): string | undefined {
  for (const m of block.markers) {
    const r = /<!--\s*doc-test:\s*file\s+(\S+)\s*-->/.exec(m);
    if (r) return r[1]!;
  }
  return undefined;
}

/** `--set` overrides a `<!-- doc-test: set a=1 b=2 -->` marker asks for (plan, run and search only). */
export function overrides(block: Block): string[] {
  for (const m of block.markers) {
    const r = /<!--\s*doc-test:\s*set\s+(.+?)\s*-->/.exec(m);
    if (r) return r[1]!.split(/\s+/);
  }
  return [];
}

/** Relative links and images of a document: `[text](target)`, without external or pure-anchor ones. */
export function relativeLinks(doc: Doc): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  let inFence = false;
  doc.text.split('\n').forEach((line, i) => {
    if (/^```/.test(line)) inFence = !inFence;
    if (inFence) return;
    for (const m of line.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      out.push({ target, line: i + 1 });
    }
  });
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^```/.test(line)) inFence = !inFence;
    const h = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    out.add(
      h[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return out;
}
