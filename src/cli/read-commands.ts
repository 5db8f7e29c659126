import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { ConvergeError } from '../errors';
import {
  CELL_FORMATS,
  compareGroups,
  csvField,
  formatCells,
  formatComparison,
  matchesFilter,
  parseFilter,
  renderBoundarySection,
  renderHtmlReport,
  renderSvg,
  summarizeCells,
  type BoundaryFigureInput,
  type CellFormat,
  type Filter,
  type RunRow,
} from '../report';
import { openDb, queryRuns, querySql, readEpochs, readRuns, readSweep, type Db } from '../store';
import { alignTable, oneOf, writeOut } from './common';
import { describeCell } from '../grid';
import { parseSpec } from '../spec';
import { boundaryJson, readSearch } from '../sweep/search';

function withDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function filterOrThrow(flag: string, expr: string): Filter {
  try {
    return parseFilter(expr);
  } catch (e) {
    throw new ConvergeError('query.badFilter', `${flag} "${expr}": ${(e as Error).message.split('\n')[0]}`);
  }
}

export function rowsToText(rows: Record<string, unknown>[], format: 'table' | 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  const cols = rows.length ? Object.keys(rows[0]!) : [];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : String(v));
  if (format === 'csv') return [cols.map(csvField).join(','), ...rows.map((r) => cols.map((c) => csvField(cell(r[c]))).join(','))].join('\n');
  if (rows.length === 0) return '(no rows)';
  return alignTable(cols, rows.map((r) => cols.map((c) => cell(r[c]))));
}

export function registerReadCommands(program: Command): void {
  program
    .command('report')
    .description('compare the cells: per cell k/n converged with a 95% Wilson interval, val_mae and converged-epoch quartiles, outcome counts')
    .argument('<db>', 'result database (.db)')
    .option('-f, --format <format>', `output format: ${[...CELL_FORMATS, 'html'].join(', ')}`, oneOf('--format', [...CELL_FORMATS, 'html'] as const), 'table')
    .option('-o, --out <file>', 'write to a file instead of stdout (required for html)')
    .option('--where <expr>', "only runs matching, e.g. 'seq_len=200 and batch_size=1'")
    .action(async (file: string, opts: { format: CellFormat | 'html'; out?: string; where?: string }) => {
      const filter = opts.where ? filterOrThrow('--where', opts.where) : undefined;
      const input = withDb(file, (db) => {
        const sweep = readSweep(db, file);
        const runs = readRuns(db).filter((r) => !filter || matchesFilter(r.params, filter));
        const ids = new Set(runs.map((r) => r.id));
        const epochs = opts.format === 'html' ? readEpochs(db).filter((e) => ids.has(e.runId)) : [];
        const boundaries = opts.format === 'html' ? boundariesOf(db, sweep.specText, sweep.specPath) : [];
        return { sweepName: sweep.name, axes: sweep.axes, runs, epochs, threshold: sweep.threshold, metric: sweep.metric, boundaries };
      });
      const cells = summarizeCells(input);
      if (opts.format === 'html') {
        if (!opts.out) throw new ConvergeError('cli.missingOut', 'report --format html needs --out FILE (e.g. --out report.html)');
        const boundary = await renderBoundarySection(searchAxisOf(input.boundaries), input.boundaries, renderSvg);
        writeFileSync(opts.out, await renderHtmlReport(input, cells, boundary ? [boundary] : []));
        writeOut(`wrote ${opts.out} (${cells.length} cells, ${input.runs.length} runs)`);
        return;
      }
      const text = formatCells(cells, input.axes, opts.format);
      if (opts.out) writeFileSync(opts.out, text.endsWith('\n') ? text : `${text}\n`);
      else writeOut(text);
    });

  program
    .command('query')
    .description('list runs matching a filter, or run read-only SQL on the database')
    .argument('<db>', 'result database (.db)')
    .option('--where <expr>', "conditions joined by 'and', e.g. 'seq_len=200 and batch_size=1 and outcome=converged'")
    .option('--sql <statement>', 'a read-only SQL statement (the database is opened read-only; writes are refused)')
    .option('-f, --format <format>', 'table, csv or json', oneOf('--format', ['table', 'csv', 'json'] as const), 'table')
    .addHelpText('after', `\nExamples:\n  converge query results/smoke.db --where "outcome=converged and n_samples>=20" --format csv\n  converge query results/smoke.db --sql "select n_samples, avg(final_val_mae) from runs group by n_samples"`)
    .action((file: string, opts: { where?: string; sql?: string; format: 'table' | 'csv' | 'json' }) => {
      if (opts.where && opts.sql) throw new ConvergeError('cli.conflict', 'query takes --where or --sql, not both');
      const rows = withDb(file, (db) => {
        if (opts.sql) return querySql(db, opts.sql);
        const filter = opts.where ? filterOrThrow('--where', opts.where) : [];
        return queryRuns(db, filter);
      });
      writeOut(rowsToText(rows, opts.format));
    });

  program
    .command('compare')
    .description("is one group's convergence rate really different from another's? Fisher's exact test on k/n")
    .argument('<db>', 'result database (.db)')
    .argument('[db2]', "a second sweep's database: compare all runs of <db> with all runs of [db2]")
    .option('--a <expr>', "group A, e.g. 'n_samples=80'")
    .option('--b <expr>', "group B, e.g. 'n_samples=130'")
    .option('--where <expr>', "restrict both groups, e.g. 'seq_len=200 and batch_size=1'")
    .option('--json', 'print as JSON')
    .addHelpText('after', `\nExamples:\n  converge compare results/seed-finding.db --a n_samples=80 --b n_samples=130 --where "batch_size=1"\n  converge compare results/a.db results/b.db --json`)
    .action((file: string, file2: string | undefined, opts: { a?: string; b?: string; where?: string; json?: boolean }) => {
      const where = opts.where ? filterOrThrow('--where', opts.where) : [];
      const keep = (runs: RunRow[]) => runs.filter((r) => matchesFilter(r.params, where));
      let a: { label: string; runs: RunRow[] };
      let b: { label: string; runs: RunRow[] };
      if (file2) {
        if (opts.a || opts.b) throw new ConvergeError('cli.conflict', 'compare with two databases takes no --a/--b; use --where to restrict both');
        a = { label: file, runs: keep(withDb(file, (db) => readRuns(db))) };
        b = { label: file2, runs: keep(withDb(file2, (db) => readRuns(db))) };
      } else {
        if (!opts.a || !opts.b) throw new ConvergeError('cli.missingGroup', "compare needs --a and --b (e.g. --a 'n_samples=80' --b 'n_samples=130'), or two databases");
        const fa = filterOrThrow('--a', opts.a);
        const fb = filterOrThrow('--b', opts.b);
        const runs = keep(withDb(file, (db) => readRuns(db)));
        a = { label: opts.a, runs: runs.filter((r) => matchesFilter(r.params, fa)) };
        b = { label: opts.b, runs: runs.filter((r) => matchesFilter(r.params, fb)) };
      }
      writeOut(formatComparison(compareGroups(a, b), Boolean(opts.json)));
    });
}

/** The boundaries of a search sweep, recomputed from its runs (the search is a function of them). */
function boundariesOf(db: Db, specText: string, specPath: string): (BoundaryFigureInput & { axis: string })[] {
  let spec;
  try {
    spec = parseSpec(specText, specPath);
  } catch {
    return []; // a spec this version cannot read has no boundary figure
  }
  if (!spec.search) return [];
  const states = readSearch(db, spec);
  const axis = spec.search.axis;
  return states.map((st) => {
    const a = boundaryJson(st);
    return {
      axis,
      label: describeCell(st.boundary.fixed),
      lo: st.boundary.settings.lo,
      hi: st.boundary.settings.hi,
      target: st.boundary.settings.target,
      bracketed: a.bracketed,
      verdict: a.verdict,
      estimate: a.estimate,
      ciLow: a.ci_low,
      ciHigh: a.ci_high,
      slope: a.slope,
      runs: a.runs,
      probes: a.probes,
    };
  });
}

function searchAxisOf(b: readonly { axis: string }[]): string {
  return b[0]?.axis ?? '';
}
