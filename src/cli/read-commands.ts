import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConvergeError } from '../errors';
import {
  CELL_FORMATS,
  compareGroups,
  csvField,
  formatCells,
  formatComparison,
  matchesFilter,
  parseFilter,
  renderHtmlReport,
  summarizeCells,
  thinValidationWarnings,
  type CellFormat,
  type Filter,
  type RunRow,
} from '../report';
import { openDb, queryRuns, querySql, type Db } from '../store';
import { alignTable, oneOf, writeErr, writeOut } from './common';
import { OUTCOME_DOC, OUTCOMES } from '../outcome';
import { addScoringOptions, readScored, reportNotes, type ScoringOptions } from './scoring';

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

const FORMAT_OF_EXTENSION: Record<string, CellFormat | 'html'> = { '.html': 'html', '.htm': 'html', '.csv': 'csv', '.json': 'json', '.md': 'md', '.markdown': 'md' };

/** The report format a file name asks for (`r.html` → html), if its extension names one. */
export function formatOfFile(file: string | undefined): CellFormat | 'html' | undefined {
  return file ? FORMAT_OF_EXTENSION[extname(file).toLowerCase()] : undefined;
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
  addScoringOptions(
    program
      .command('report')
      .description('compare the cells: per cell k/n converged with a 95% Wilson interval, the same among runs alive at init, the rule metric and converged-epoch medians, outcome counts')
      .argument('<db>', 'result database (.db)')
      .option('-f, --format <format>', `output format: ${[...CELL_FORMATS, 'html'].join(', ')} (default: from the extension of --out, else table)`, oneOf('--format', [...CELL_FORMATS, 'html'] as const))
      .option('-o, --out <file>', 'write to a file instead of stdout (required for html); .html, .csv, .json or .md choose the format')
      .option('--where <expr>', "only runs matching, e.g. 'seq_len=200 and batch_size=1'"),
  )
    .addHelpText('after', `\nOutcomes are scored from the stored epochs by the sweep's rule; --metric/--threshold/--epoch re-score\nwithout writing. Failed and timed-out runs are listed apart and are not in n.\n\nOutcomes:\n${OUTCOMES.map((o) => `  ${o.padEnd(14)}${OUTCOME_DOC[o]}`).join('\n')}\n\nExamples:\n  converge report results/seed-finding.db --metric val_mae --threshold 0.05\n  converge report results/seed-finding.db --epoch 25 --format json`)
    .action(async (file: string, given: { format?: CellFormat | 'html'; out?: string; where?: string } & ScoringOptions) => {
      const opts = { ...given, format: given.format ?? formatOfFile(given.out) ?? 'table' };
      const filter = opts.where ? filterOrThrow('--where', opts.where) : undefined;
      const input = withDb(file, (db) => {
        const s = readScored(db, file, opts, undefined, (r) => !filter || matchesFilter(r.params, filter), opts.format === 'html');
        const ids = new Set(s.runs.map((r) => r.id));
        const epochs = opts.format === 'html' ? s.epochs.filter((e) => ids.has(e.runId)) : [];
        return { sweepName: s.sweep.name, axes: s.sweep.axes, runs: s.runs, epochs, threshold: s.rule.threshold, metric: s.rule.metric, epoch: opts.epoch ?? null };
      });
      const cells = summarizeCells(input);
      for (const line of [...thinValidationWarnings(input.axes, input.runs, input), ...reportNotes(cells)]) writeErr(line);
      if (opts.format === 'html') {
        if (!opts.out) throw new ConvergeError('cli.missingOut', 'report --format html needs --out FILE (e.g. --out report.html)');
        writeFileSync(opts.out, await renderHtmlReport(input, cells));
        writeOut(`wrote ${opts.out} (${cells.length} cells, ${input.runs.length} runs)`);
        return;
      }
      const text = formatCells(cells, input.axes, opts.format);
      if (opts.out) writeFileSync(opts.out, text.endsWith('\n') ? text : `${text}\n`);
      else writeOut(text);
    });

  addScoringOptions(program
    .command('query')
    .description('list runs matching a filter, or run read-only SQL on the database')
    .argument('<db>', 'result database (.db)')
    .option('--where <expr>', "conditions joined by 'and', e.g. 'seq_len=200 and batch_size=1 and outcome=converged'")
    .option('--sql <statement>', 'a read-only SQL statement (the database is opened read-only; writes are refused)')
    .option('-f, --format <format>', 'table, csv or json', oneOf('--format', ['table', 'csv', 'json'] as const), 'table')
    .addHelpText('after', `\nWith --metric/--threshold/--epoch, outcome and converged_epoch (in --where and in the rows) are re-scored\nfrom the stored epochs; nothing is written.\n\nExamples:\n  converge query results/smoke.db --where "outcome=converged and n_samples>=20" --format csv\n  converge query results/smoke.db --where "outcome=converged" --metric val_mae --threshold 0.05\n  converge query results/smoke.db --sql "select n_samples, avg(final_pop_mae) from runs group by n_samples"`))
    .action((file: string, opts: { where?: string; sql?: string; format: 'table' | 'csv' | 'json' } & ScoringOptions) => {
      if (opts.where && opts.sql) throw new ConvergeError('cli.conflict', 'query takes --where or --sql, not both');
      const rescoring = opts.metric !== undefined || opts.threshold !== undefined || opts.epoch !== undefined;
      if (opts.sql && rescoring) throw new ConvergeError('cli.conflict', 'query --sql reads the stored columns; --metric/--threshold/--epoch go with --where');
      const rows = withDb(file, (db) => {
        if (opts.sql) return querySql(db, opts.sql);
        const filter = opts.where ? filterOrThrow('--where', opts.where) : [];
        if (!rescoring) return queryRuns(db, filter);
        const s = readScored(db, file, opts);
        return queryRuns(db, filter, new Map(s.runs.map((r) => [r.id, { outcome: r.outcome, convergedEpoch: r.convergedEpoch }])));
      });
      writeOut(rowsToText(rows, opts.format));
    });

  addScoringOptions(program
    .command('compare')
    .description("is one group's convergence rate really different from another's? Fisher's exact test on k/n")
    .argument('<db>', 'result database (.db)')
    .argument('[db2]', "a second sweep's database: compare all runs of <db> with all runs of [db2]")
    .option('--a <expr>', "group A, e.g. 'n_samples=80'")
    .option('--b <expr>', "group B, e.g. 'n_samples=130'")
    .option('--where <expr>', "restrict both groups, e.g. 'seq_len=200 and batch_size=1'")
    .option('--json', 'print as JSON')
    .addHelpText('after', `\nOutcomes are scored by <db>'s rule (both databases) unless --metric/--threshold/--epoch say otherwise.\n\nExamples:\n  converge compare results/seed-finding.db --a n_samples=80 --b n_samples=130 --where "batch_size=1"\n  converge compare results/a.db results/b.db --json`))
    .action((file: string, file2: string | undefined, opts: { a?: string; b?: string; where?: string; json?: boolean } & ScoringOptions) => {
      const where = opts.where ? filterOrThrow('--where', opts.where) : [];
      let a: { label: string; runs: RunRow[] };
      let b: { label: string; runs: RunRow[] };
      if (file2) {
        if (opts.a || opts.b) throw new ConvergeError('cli.conflict', 'compare with two databases takes no --a/--b; use --where to restrict both');
        // One rule for both sides: a comparison never mixes rules.
        const first = withDb(file, (db) => readScored(db, file, opts, undefined, (r) => matchesFilter(r.params, where)));
        a = { label: file, runs: first.runs };
        b = { label: file2, runs: withDb(file2, (db) => readScored(db, file2, opts, first.rule, (r) => matchesFilter(r.params, where)).runs) };
      } else {
        if (!opts.a || !opts.b) throw new ConvergeError('cli.missingGroup', "compare needs --a and --b (e.g. --a 'n_samples=80' --b 'n_samples=130'), or two databases");
        const fa = filterOrThrow('--a', opts.a);
        const fb = filterOrThrow('--b', opts.b);
        const runs = withDb(file, (db) => readScored(db, file, opts, undefined, (r) => matchesFilter(r.params, where)).runs);
        a = { label: opts.a, runs: runs.filter((r) => matchesFilter(r.params, fa)) };
        b = { label: opts.b, runs: runs.filter((r) => matchesFilter(r.params, fb)) };
      }
      writeOut(formatComparison(compareGroups(a, b), Boolean(opts.json)));
    });
}
