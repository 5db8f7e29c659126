import { InvalidArgumentError, type Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConvergeError, didYouMean, EXIT } from '../errors';
import {
  budgetCurves,
  CELL_FORMATS,
  defaultThresholds,
  csvField,
  formatCells,
  headerLines,
  renderBoundarySection,
  renderComparisonSection,
  renderHtmlReport,
  renderSvg,
  summarizeCells,
  thinValidationWarnings,
  thresholdRates,
  type BoundaryFigureInput,
  type CellFormat,
  type NamedComparison,
  type ReportContext,
} from '../report';
import { queryRuns, querySql, withReadOnlyDb, type Db } from '../store';
import { alignTable, collect, oneOf, writeErr, writeOut } from './common';
import { checkBy, compareInDb, registerCompare, settingNames, thresholdList } from './compare';
import { andWhere, checkFlags, joinFlags, noteEmpty, parseFlag, type FlagFilter } from './filters';
import { OUTCOME_DOC, OUTCOMES } from '../outcome';
import { addScoringOptions, readScored, reportNotes, type Scored, type ScoringOptions } from './scoring';
import { describeCell } from '../grid';
import { parseSpec, type SweepSpec } from '../spec';
import { isConvergeError } from '../errors';
import { parseComparisonPhrase } from '../filter';
import { boundaryJson, readSearch } from '../sweep/search';


/** The spec's `description`, read from the spec text stored with the sweep; null when there is none. */
function specDescription(specText: string): string | null {
  try {
    const doc = parseYaml(specText) as { description?: unknown } | null;
    return typeof doc?.description === 'string' ? doc.description : null;
  } catch {
    return null; // the report does not depend on the spec still parsing
  }
}

const FORMAT_OF_EXTENSION: Record<string, CellFormat | 'html'> = { '.html': 'html', '.htm': 'html', '.csv': 'csv', '.json': 'json', '.md': 'md', '.markdown': 'md' };

/** The report format a file name asks for (`r.html` → html), if its extension names one. */
export function formatOfFile(file: string | undefined): CellFormat | 'html' | undefined {
  return file ? FORMAT_OF_EXTENSION[extname(file).toLowerCase()] : undefined;
}

/** `--columns a,b,c`: distinct, non-empty names. */
function columnList(v: string): string[] {
  const names = v.split(',').map((c) => c.trim());
  if (names.some((c) => c === '')) throw new InvalidArgumentError(`--columns must be a comma-separated list of column names, got "${v}"`);
  return [...new Set(names)];
}

/**
 * Only the `wanted` columns of the rows, in that order. A name no row has is exit 2 with a
 * "did you mean" and the columns there are (checked against the rows, so only when there are some).
 */
export function pickColumns(rows: Record<string, unknown>[], wanted: readonly string[]): Record<string, unknown>[] {
  if (rows.length > 0) {
    const have = Object.keys(rows[0]!);
    const unknown = wanted.find((c) => !have.includes(c));
    if (unknown !== undefined) {
      const hint = didYouMean(unknown, have);
      throw new ConvergeError('cli.badColumn', `--columns ${unknown}: no such column${hint ? ` (did you mean ${hint}?)` : ''}; the columns: ${have.join(', ')}`, { exitCode: EXIT.badInput });
    }
  }
  return rows.map((r) => Object.fromEntries(wanted.map((c) => [c, r[c]])));
}

export function rowsToText(rows: Record<string, unknown>[], format: 'table' | 'csv' | 'json', columns?: readonly string[]): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  const cols = rows.length ? Object.keys(rows[0]!) : [...(columns ?? [])];
  // CSV is for machines: every number at full precision (String() round-trips a double exactly).
  const raw = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  if (format === 'csv') return [cols.map(csvField).join(','), ...rows.map((r) => cols.map((c) => csvField(raw(r[c]))).join(','))].join('\n');
  const cell = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : raw(v));
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
      .option('--where <expr>', "only runs matching, e.g. 'seq_len=200 and batch_size=1' (repeatable: joined by and)", andWhere)
      .option('--compare <phrase>', 'html: add a comparison section, "A vs B [where W] [by SETTING]" (repeatable; the sweep file\'s compare: list is added too)', collect, [])
      .option('--thresholds <list>', "json: each cell's rate at these thresholds (by_threshold); html: the comparisons' sensitivity tables (default: 0.6, 1, 1.4, 2 and 3 times the rule's)", thresholdList),
  )
    .addHelpText('after', `\nOutcomes are scored from the stored epochs by the sweep's rule; --metric/--threshold/--epoch re-score\nwithout writing. Failed and timed-out runs are listed apart and are not in n.\n\nComparisons (html): each --compare phrase and each entry of the sweep file's compare: list is a\nsection with the rates, the paired difference with its interval and p-value, per level of its\n"by" settings with a test that the levels agree, and the verdict across thresholds (see\n\`converge compare --help\`).\n\nOutcomes:\n${OUTCOMES.map((o) => `  ${o.padEnd(14)}${OUTCOME_DOC[o]}`).join('\n')}\n\nExamples:\n  converge report results/seed-finding.db --metric val_mae --threshold 0.05\n  converge report results/seed-finding.db --epoch 25 --format json\n  converge report results/answer-cases.db --out r.html --compare "batch_size=32 vs batch_size=1 where seq_len=200 by n_samples"`)
    .action(async (file: string, given: { format?: CellFormat | 'html'; out?: string; where?: string; compare: string[]; thresholds?: number[] } & ScoringOptions) => {
      const opts = { ...given, format: given.format ?? formatOfFile(given.out) ?? 'table' };
      if (opts.compare.length > 0 && opts.format !== 'html') {
        throw new ConvergeError('cli.conflict', `report --compare adds a section to the HTML report (--out r.html); for ${opts.format} use \`converge compare <db> --a A --b B --by SETTING\` (with --json for JSON)`);
      }
      const where = parseFlag('--where', opts.where);
      const { input, context, curves, byThreshold, boundaries, comparisons } = withReadOnlyDb(file, (db) => {
        checkFlags(db, [where]);
        const s = readScored(db, file, opts, undefined, joinFlags(where), opts.format === 'html' || opts.format === 'json');
        if (where) noteEmpty(db, `--where "${where.expr}"`, s.runs.length);
        const epochs = opts.format === 'html' ? s.epochs : [];
        const context: ReportContext = {
          description: specDescription(s.sweep.specText), dbPath: file, specPath: s.sweep.specPath, specHash: s.sweep.specHash, filter: where?.expr ?? null,
        };
        // Budget curves re-score every run at every epoch: only for the formats that show them.
        const curves = opts.format === 'json' || opts.format === 'html' ? budgetCurves(s.sweep.axes, s.stored, s.epochs, s.rule, opts.epoch) : null;
        const thresholds = opts.thresholds ?? defaultThresholds(s.rule.threshold);
        const spec = opts.format === 'html' ? storedSpec(s.sweep.specText, s.sweep.specPath) : null;
        return {
          input: {
            sweepName: s.sweep.name, axes: s.sweep.axes, runs: s.runs, epochs, threshold: s.rule.threshold, metric: s.rule.metric, epoch: opts.epoch ?? null,
            ...(s.sweep.trainer !== 'builtin' ? { trainer: s.sweep.trainer, direction: s.rule.direction ?? 'below', at: s.rule.at ?? 'last' } : {}),
          },
          context,
          curves,
          byThreshold: opts.format === 'json' ? thresholdRates(s.sweep.axes, s.stored, s.epochs, s.rule, thresholds, opts.epoch) : null,
          boundaries: spec ? boundariesOf(db, spec) : [],
          comparisons: opts.format === 'html' ? namedComparisons(db, s, where, spec?.compare ?? [], opts.compare, { epoch: opts.epoch, thresholds }) : [],
        };
      });
      const cells = summarizeCells(input).map((c) => ({
        ...c,
        ...(curves?.has(c.key) ? { byEpoch: curves.get(c.key) } : {}),
        ...(byThreshold?.has(c.key) ? { byThreshold: byThreshold.get(c.key) } : {}),
      }));
      for (const line of [...thinValidationWarnings(input.axes, input.runs, input), ...reportNotes(cells)]) writeErr(line);
      if (opts.format === 'html') {
        if (!opts.out) throw new ConvergeError('cli.missingOut', 'report --format html needs --out FILE (e.g. --out report.html)');
        const boundary = await renderBoundarySection(searchAxisOf(boundaries), boundaries, renderSvg);
        const compared = await renderComparisonSection(comparisons, input.metric, input.threshold, renderSvg);
        writeFileSync(opts.out, await renderHtmlReport(input, cells, context, [boundary, compared].filter((x) => x !== '')));
        writeOut(`wrote ${opts.out} (${cells.length} cells, ${input.runs.length} runs)`);
        return;
      }
      const text = formatCells(cells, input.axes, opts.format, headerLines(input, context));
      if (opts.out) writeFileSync(opts.out, text.endsWith('\n') ? text : `${text}\n`);
      else writeOut(text);
    });

  addScoringOptions(program
    .command('query')
    .description('list runs matching a filter, or run read-only SQL on the database')
    .argument('<db>', 'result database (.db)')
    .option('--where <expr>', "conditions joined by 'and', e.g. 'seq_len=200 and batch_size=1 and outcome=converged' (repeatable: joined by and)", andWhere)
    .option('--sql <statement>', 'a read-only SQL statement (the database is opened read-only; writes are refused)')
    .option('-f, --format <format>', 'table, csv or json', oneOf('--format', ['table', 'csv', 'json'] as const), 'table')
    .option('--columns <list>', 'only these columns, in this order, e.g. id,seed,n_samples,outcome (comma-separated)', columnList)
    .addHelpText('after', `\nWith --metric/--threshold/--epoch, outcome and converged_epoch (in --where and in the rows) are re-scored\nfrom the stored epochs; nothing is written.\n\nExamples:\n  converge query results/smoke.db --where "outcome=converged and n_samples>=20" --format csv\n  converge query results/smoke.db --where "status=failed" --columns id,seed,n_samples,error\n  converge query results/smoke.db --where "outcome=converged" --metric val_mae --threshold 0.05\n  converge query results/smoke.db --sql "select n_samples, avg(final_pop_mae) from runs group by n_samples"`))
    .action((file: string, opts: { where?: string; sql?: string; format: 'table' | 'csv' | 'json'; columns?: string[] } & ScoringOptions) => {
      if (opts.where && opts.sql) throw new ConvergeError('cli.conflict', 'query takes --where or --sql, not both');
      const rescoring = opts.metric !== undefined || opts.threshold !== undefined || opts.epoch !== undefined;
      if (opts.sql && rescoring) throw new ConvergeError('cli.conflict', 'query --sql reads the stored columns; --metric/--threshold/--epoch go with --where');
      const where = parseFlag('--where', opts.where);
      const rows = withReadOnlyDb(file, (db) => {
        if (opts.sql) return querySql(db, opts.sql);
        checkFlags(db, [where]);
        const scored = rescoring ? readScored(db, file, opts).runs : undefined;
        const rows = queryRuns(db, joinFlags(where), scored && new Map(scored.map((r) => [r.id, { outcome: r.outcome, convergedEpoch: r.convergedEpoch }])));
        if (where) noteEmpty(db, `--where "${where.expr}"`, rows.length);
        return rows;
      });
      writeOut(opts.columns ? rowsToText(pickColumns(rows, opts.columns), opts.format, opts.columns) : rowsToText(rows, opts.format));
    });

  registerCompare(program);
}

/** The sweep's spec as recorded in the database, or null when this version cannot read it (then it has no boundary figure or named comparisons). */
function storedSpec(specText: string, specPath: string): SweepSpec | null {
  try {
    return parseSpec(specText, specPath);
  } catch {
    return null;
  }
}

/**
 * The named comparisons of the HTML report: the spec's `compare:` list, then --compare, each
 * within the report's --where. A --compare that cannot be made is an error (exit 2); one from the
 * spec is shown as not compared, with the reason, and said on stderr.
 */
function namedComparisons(db: Db, s: Scored, where: FlagFilter | null, fromSpec: readonly string[], fromFlags: readonly string[], opts: { epoch?: number; thresholds: number[] }): NamedComparison[] {
  const asked = [...fromSpec.map((text) => ({ text, flag: false })), ...fromFlags.map((text) => ({ text, flag: true }))];
  return asked.map(({ text, flag }) => {
    try {
      const p = parseComparisonPhrase(text);
      const part = (name: string, x: { expr: string; filter: FlagFilter['filter'] }): FlagFilter => ({ flag: `${name} of "${text}"`, expr: x.expr, filter: x.filter });
      const a = part('A', p.a);
      const b = part('B', p.b);
      const own = p.where ? part('where', p.where) : null;
      checkFlags(db, [a, b, own]);
      const req = { a, b, where: [where, own].filter((f): f is FlagFilter => f !== null), by: checkBy(p.by, `by of "${text}":`, settingNames(s)) };
      return { phrase: text, ...compareInDb(db, s, req, { epoch: opts.epoch, thresholds: opts.thresholds }), error: null };
    } catch (e) {
      if (!isConvergeError(e)) throw e;
      if (flag) throw e.message.includes(text) ? e : new ConvergeError(e.code, `--compare "${text}": ${e.message}`, { exitCode: e.exitCode });
      writeErr(`converge: the sweep's compare: "${text}" is not in the report: ${e.message}`);
      return { phrase: text, result: null, extra: [], error: e.message };
    }
  });
}

/** The boundaries of a search sweep, recomputed from its runs (the search is a function of them). */
function boundariesOf(db: Db, spec: SweepSpec): (BoundaryFigureInput & { axis: string })[] {
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
      ceiling: st.step?.answer.ceiling ?? null,
      runs: a.runs,
      probes: a.probes,
      fixed: st.boundary.fixed,
      ...(a.budgets ? { budgets: a.budgets.map((b) => ({ epochs: b.epochs, bracketed: b.bracketed, estimate: b.estimate, ciLow: b.ci_low, ciHigh: b.ci_high })) } : {}),
    };
  });
}

function searchAxisOf(b: readonly { axis: string }[]): string {
  return b[0]?.axis ?? '';
}
