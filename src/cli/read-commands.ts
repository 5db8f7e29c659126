import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { ConvergeError } from '../errors';
import { parse as parseYaml } from 'yaml';
import { CELL_FORMATS, csvField, formatCells, headerLines, renderHtmlReport, summarizeCells, type CellFormat, type ReportContext } from '../report';
import { openDb, queryRuns, querySql, readEpochs, readProgress, readRuns, readSweep, type Db } from '../store';
import { registerCompare } from './compare';
import { alignTable, formatDuration, oneOf, writeOut } from './common';
import { checkFlags, joinFlags, noteEmpty, parseFlag } from './filters';

function withDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The spec's `description`, read from the spec text stored with the sweep; null when there is none. */
function specDescription(specText: string): string | null {
  try {
    const doc = parseYaml(specText) as { description?: unknown } | null;
    return typeof doc?.description === 'string' ? doc.description : null;
  } catch {
    return null; // the report does not depend on the spec still parsing
  }
}

export function rowsToText(rows: Record<string, unknown>[], format: 'table' | 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  const cols = rows.length ? Object.keys(rows[0]!) : [];
  // CSV is for machines: every number at full precision (String() round-trips a double exactly).
  const raw = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  if (format === 'csv') return [cols.map(csvField).join(','), ...rows.map((r) => cols.map((c) => csvField(raw(r[c]))).join(','))].join('\n');
  const cell = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : raw(v));
  if (rows.length === 0) return '(no rows)';
  return alignTable(cols, rows.map((r) => cols.map((c) => cell(r[c]))));
}

export function registerReadCommands(program: Command): void {
  program
    .command('status')
    .description('progress of a sweep database (safe while `converge run` writes it)')
    .argument('<db>', 'result database (.db)')
    .option('--json', 'print as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      withDb(file, (db) => {
        const sweep = readSweep(db, file);
        const p = readProgress(db);
        if (opts.json) {
          writeOut(JSON.stringify({ sweep: sweep.name, spec: sweep.specPath, ...p }, null, 2));
          return;
        }
        const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : '0';
        const left = p.pending + p.running + p.failed;
        const eta = p.meanRunSeconds && left ? ` · ~${formatDuration(p.meanRunSeconds * left)} of training left (one worker)` : '';
        writeOut(`sweep ${sweep.name} (${sweep.specPath}), updated ${sweep.updatedAt}`);
        writeOut(`${p.done}/${p.total} runs done (${pct}%) · ${p.running} running · ${p.pending} pending · ${p.failed} failed${eta}`);
        writeOut(`outcomes: ${Object.entries(p.outcomes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none yet'}`);
        for (const a of p.active) {
          writeOut(`  run ${a.id}: epoch ${a.epochsDone}/${a.epochs}${a.leaseExpired ? ' (owner stopped heartbeating: will be redone)' : ''}`);
        }
        if (p.specVersions.length > 1) {
          const last = p.specVersions[p.specVersions.length - 1]!;
          writeOut(`the spec changed ${p.specVersions.length - 1} time(s); last change ${last.recordedAt}: ${last.changes.join('; ') || 'formatting only'}; ${last.added} runs added, ${last.kept} kept, ${last.retired} retired`);
        }
        if (p.retired) writeOut(`${p.retired} runs from earlier versions of the spec are kept but not reported`);
      });
    });

  program
    .command('report')
    .description('compare the cells: per cell k/n converged with a 95% Wilson interval, val_mae and converged-epoch quartiles, outcome counts')
    .argument('<db>', 'result database (.db)')
    .option('-f, --format <format>', `output format: ${[...CELL_FORMATS, 'html'].join(', ')}`, oneOf('--format', [...CELL_FORMATS, 'html'] as const), 'table')
    .option('-o, --out <file>', 'write to a file instead of stdout (required for html)')
    .option('--where <expr>', "only runs matching, e.g. 'seq_len=200 and batch_size=1'")
    .action(async (file: string, opts: { format: CellFormat | 'html'; out?: string; where?: string }) => {
      const where = parseFlag('--where', opts.where);
      const { input, context } = withDb(file, (db) => {
        checkFlags(db, [where]);
        const sweep = readSweep(db, file);
        const runs = readRuns(db, { where: joinFlags(where) });
        if (where) noteEmpty(db, `--where "${where.expr}"`, runs.length);
        const epochs = opts.format === 'html' ? readEpochs(db, { where: joinFlags(where) }) : [];
        const context: ReportContext = {
          description: specDescription(sweep.specText), dbPath: file, specPath: sweep.specPath, specHash: sweep.specHash, filter: where?.expr ?? null,
        };
        return { input: { sweepName: sweep.name, axes: sweep.axes, runs, epochs, threshold: sweep.threshold, metric: sweep.metric }, context };
      });
      const cells = summarizeCells(input);
      if (opts.format === 'html') {
        if (!opts.out) throw new ConvergeError('cli.missingOut', 'report --format html needs --out FILE (e.g. --out report.html)');
        writeFileSync(opts.out, await renderHtmlReport(input, cells, context));
        writeOut(`wrote ${opts.out} (${cells.length} cells, ${input.runs.length} runs)`);
        return;
      }
      const text = formatCells(cells, input.axes, opts.format, headerLines(input, context));
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
      const where = parseFlag('--where', opts.where);
      const rows = withDb(file, (db) => {
        if (opts.sql) return querySql(db, opts.sql);
        checkFlags(db, [where]);
        const rows = queryRuns(db, joinFlags(where));
        if (where) noteEmpty(db, `--where "${where.expr}"`, rows.length);
        return rows;
      });
      writeOut(rowsToText(rows, opts.format));
    });

  registerCompare(program);
}
