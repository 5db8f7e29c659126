/**
 * Cell summaries as text: an aligned terminal table, a GitHub markdown table, RFC 4180 CSV, or
 * JSON with stable snake_case field names (scripts may depend on those names).
 * Plain padding is enough for the terminal table: the cells are short ASCII and a table library
 * would add a dependency for what is twenty lines here.
 */
import type { BudgetPoint } from './budget';
import type { ThresholdRate } from './threshold';
import { formatParamValue } from './cells';
import { OUTCOMES } from './types';
import type { CellSummary, Interval, Outcome, ParamValue } from './types';

export type CellFormat = 'table' | 'md' | 'csv' | 'json';
export const CELL_FORMATS: readonly CellFormat[] = ['table', 'md', 'csv', 'json'];

/** The JSON shape of one cell. Field names are part of the CLI's interface: do not rename. */
export interface CellJson {
  params: Record<string, ParamValue>;
  key: string;
  runs: number;
  done: number;
  converged: number;
  /** Runs that trained to the end and were scored (= n): not failed, timed_out, unfinished or lacking the metric. */
  finished: number;
  n: number;
  rate: number | null;
  ci_low: number;
  ci_high: number;
  /** Of the finished runs, those alive at initialisation, and the rate among them. */
  alive: number;
  converged_alive: number;
  rate_alive: number | null;
  alive_ci_low: number;
  alive_ci_high: number;
  failed: number;
  timed_out: number;
  /** Ids of the failed and timed_out runs. */
  failed_runs: number[];
  /** Finished runs without the rule's metric (recorded before population metrics): not in n. */
  lacks_metric: number;
  /** The rule scored with, and the epoch budget (null: each run's last epoch). */
  metric: string;
  threshold: number;
  epoch: number | null;
  /** Median over the finished runs of the rule's metric at the scored epoch. */
  metric_median: number | null;
  outcomes: Record<Outcome, number>;
  val_mae_q1: number | null;
  val_mae_median: number | null;
  val_mae_q3: number | null;
  converged_epoch_q1: number | null;
  converged_epoch_median: number | null;
  converged_epoch_q3: number | null;
  /** The converged rate had every run stopped after epoch e = 1 … (the last entry is this cell's rate). */
  by_epoch?: BudgetPoint[];
  /** The converged rate at thresholds around the rule's (same runs, re-scored from their stored epochs). */
  by_threshold?: ThresholdRate[];
}

export function cellToJson(c: CellSummary): CellJson {
  const json = builtinCellJson(c);
  if (!c.userTrainer) return json;
  // A user trainer has no alive-at-init: its rates are among all finished runs, said once.
  const { alive, converged_alive, rate_alive, alive_ci_low, alive_ci_high, val_mae_q1, val_mae_median, val_mae_q3, ...rest } = json;
  void [alive, converged_alive, rate_alive, alive_ci_low, alive_ci_high, val_mae_q1, val_mae_median, val_mae_q3];
  return { ...rest, no_metric: c.outcomes.no_metric, no_metric_runs: c.noMetricRuns ?? [], code_hashes: c.codeHashes ?? [] } as unknown as CellJson;
}

function builtinCellJson(c: CellSummary): CellJson {
  return {
    params: c.params,
    key: c.key,
    runs: c.runs,
    done: c.done,
    converged: c.converged,
    finished: c.n,
    n: c.n,
    rate: c.rate,
    ci_low: c.ci.lo,
    ci_high: c.ci.hi,
    alive: c.alive,
    converged_alive: c.convergedAlive,
    rate_alive: c.rateAlive,
    alive_ci_low: c.ciAlive.lo,
    alive_ci_high: c.ciAlive.hi,
    failed: c.outcomes.failed,
    timed_out: c.outcomes.timed_out,
    failed_runs: c.failedRuns,
    lacks_metric: c.lacksMetric,
    metric: c.metric,
    threshold: c.threshold,
    epoch: c.epoch,
    metric_median: c.ruleMedian,
    outcomes: c.outcomes,
    val_mae_q1: c.valMae.q1,
    val_mae_median: c.valMae.median,
    val_mae_q3: c.valMae.q3,
    converged_epoch_q1: c.convergedEpoch.q1,
    converged_epoch_median: c.convergedEpoch.median,
    converged_epoch_q3: c.convergedEpoch.q3,
    ...(c.byEpoch ? { by_epoch: c.byEpoch } : {}),
    ...(c.byThreshold ? { by_threshold: c.byThreshold } : {}),
  };
}

// ---- number formatting for human-facing tables -------------------------------------------------

const DASH = '–';

/** A p-value as the text outputs print it: three significant digits, or an exponent below 1e-4. */
export function formatP(p: number): string {
  if (p < 1e-4) return p.toExponential(1);
  return p.toPrecision(3);
}

/** A difference of rates with its sign, two decimals. */
export const signed = (d: number): string => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;

export function formatRate(r: number | null): string {
  return r === null ? DASH : r.toFixed(2);
}

export function formatInterval(ci: Interval): string {
  return `[${ci.lo.toFixed(2)}, ${ci.hi.toFixed(2)}]`;
}

/** Three significant digits without switching to exponent notation for ordinary magnitudes. */
export function formatMetric(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return DASH;
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a < 1e-4) return x.toExponential(2);
  return x.toPrecision(3);
}

/** Epoch medians are integers or halves. */
export function formatEpoch(x: number | null): string {
  if (x === null) return DASH;
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

// ---- the human table's columns, shared by `table`, `md` and the HTML report -------------------

/** A column of a human-facing table of items T (cells, comparisons). */
export interface TextColumn<T> {
  header: string;
  /** Right-align (numbers) or left-align (names). */
  align: 'left' | 'right';
  cell: (c: T) => string;
}

export type Column = TextColumn<CellSummary>;

/** The suffix of the columns counted among the runs alive at initialisation only. */
const ALIVE = '(alive at init)';

/** Under a built-in sweep's table: what the "(alive at init)" columns count, in plain words. */
export const ALIVE_LEGEND =
  '(alive at init): among the runs whose ReLU output was not dead before the first update; a run dead at init gets zero gradients and never trains, whatever the setting.';

/**
 * The columns of the human-facing table. `timed out` appears only when some run timed out, so the
 * common case stays narrow; not_converged is left out because it is n − k − the failure columns.
 */
export function humanColumns(cells: readonly CellSummary[], axes: readonly string[]): Column[] {
  const metric = cells[0]?.metric ?? 'metric';
  const cols: Column[] = axes.map((a) => ({
    header: a,
    // Numbers line up on the right; names read better from the left.
    align: cells.every((c) => typeof c.params[a] !== 'string') ? 'right' : 'left',
    cell: (c) => (a in c.params ? formatParamValue(c.params[a]!) : DASH),
  }));
  if (axes.length === 0) cols.push({ header: 'cell', align: 'left', cell: () => 'all runs' });
  if (cells[0]?.userTrainer) return userColumns(cells, cols);
  cols.push(
    { header: 'runs', align: 'right', cell: (c) => String(c.runs) },
    { header: 'converged', align: 'right', cell: (c) => `${c.converged}/${c.n}` },
    { header: 'rate', align: 'right', cell: (c) => formatRate(c.rate) },
    { header: '95% CI', align: 'left', cell: (c) => formatInterval(c.ci) },
    // The same among runs alive at init: what the setting does once the init lottery is left out.
    { header: `conv. ${ALIVE}`, align: 'right', cell: (c) => `${c.convergedAlive}/${c.alive}` },
    { header: `rate ${ALIVE}`, align: 'right', cell: (c) => formatRate(c.rateAlive) },
    { header: `95% CI ${ALIVE}`, align: 'left', cell: (c) => formatInterval(c.ciAlive) },
    { header: `median ${metric}`, align: 'right', cell: (c) => formatMetric(c.ruleMedian) },
    { header: 'median conv. epoch', align: 'right', cell: (c) => formatEpoch(c.convergedEpoch.median) },
    { header: 'dead at init', align: 'right', cell: (c) => String(c.outcomes.dead_at_init) },
    { header: 'dead', align: 'right', cell: (c) => String(c.outcomes.dead) },
    { header: 'diverged', align: 'right', cell: (c) => String(c.outcomes.diverged) },
    { header: 'failed', align: 'right', cell: (c) => String(c.outcomes.failed) },
  );
  if (cells.some((c) => c.outcomes.timed_out > 0)) {
    cols.push({ header: 'timed out', align: 'right', cell: (c) => String(c.outcomes.timed_out) });
  }
  return cols;
}

/**
 * A user trainer's columns: the rate among all finished runs (no alive-at-init, no dead outputs),
 * the rule metric's median, and the runs out of n: diverged, no_metric, failed.
 */
function userColumns(cells: readonly CellSummary[], cols: Column[]): Column[] {
  const metric = cells[0]?.metric ?? 'metric';
  cols.push(
    { header: 'runs', align: 'right', cell: (c) => String(c.runs) },
    { header: 'converged', align: 'right', cell: (c) => `${c.converged}/${c.n}` },
    { header: 'rate', align: 'right', cell: (c) => formatRate(c.rate) },
    { header: '95% CI', align: 'left', cell: (c) => formatInterval(c.ci) },
    { header: `median ${metric}`, align: 'right', cell: (c) => formatMetric(c.ruleMedian) },
    { header: 'median conv. epoch', align: 'right', cell: (c) => formatEpoch(c.convergedEpoch.median) },
    { header: 'diverged', align: 'right', cell: (c) => String(c.outcomes.diverged) },
    { header: 'no metric', align: 'right', cell: (c) => String(c.outcomes.no_metric) },
    { header: 'failed', align: 'right', cell: (c) => String(c.outcomes.failed) },
  );
  if (cells.some((c) => c.outcomes.timed_out > 0)) cols.push({ header: 'timed out', align: 'right', cell: (c) => String(c.outcomes.timed_out) });
  return cols;
}

function pad(s: string, width: number, align: 'left' | 'right'): string {
  // Width in code points, so the en dash used for "no value" counts as one column.
  const len = [...s].length;
  const fill = ' '.repeat(Math.max(0, width - len));
  return align === 'right' ? fill + s : s + fill;
}

/** A plain-text table: a header line, a rule, one line per item, columns padded to align. */
export function alignColumns<T>(cols: readonly TextColumn<T>[], items: readonly T[]): string {
  const rows = items.map((c) => cols.map((col) => col.cell(c)));
  const widths = cols.map((col, i) => Math.max([...col.header].length, ...rows.map((r) => [...r[i]!].length)));
  const line = (vals: readonly string[]): string =>
    vals.map((v, i) => pad(v, widths[i]!, cols[i]!.align)).join('  ').trimEnd();
  const out = [line(cols.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(r));
  return out.join('\n') + '\n';
}

/** The legend under a table, when its columns need one (a built-in sweep's alive-at-init columns). */
function legend(cells: readonly CellSummary[]): string {
  return cells.length > 0 && !cells[0]!.userTrainer ? `\n${ALIVE_LEGEND}\n` : '';
}

function formatTable(cells: readonly CellSummary[], axes: readonly string[]): string {
  return alignColumns(humanColumns(cells, axes), cells) + legend(cells);
}

function escapeMd(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function formatMarkdown(cells: readonly CellSummary[], axes: readonly string[]): string {
  const cols = humanColumns(cells, axes);
  const row = (vals: readonly string[]): string => `| ${vals.map(escapeMd).join(' | ')} |`;
  const sep = `|${cols.map((c) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`;
  return [row(cols.map((c) => c.header)), sep, ...cells.map((c) => row(cols.map((col) => col.cell(c))))].join('\n') + '\n' + legend(cells);
}

/** RFC 4180: quote a field when it holds a comma, quote, CR or LF; double embedded quotes. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' && !Number.isFinite(v) ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatCsv(cells: readonly CellSummary[], axes: readonly string[]): string {
  if (cells[0]?.userTrainer) return formatUserCsv(cells, axes);
  // Raw numbers, full precision, empty for "no value": this is for machines, not eyes.
  const header = [
    ...axes, 'runs', 'done', 'converged', 'n', 'rate', 'ci_low', 'ci_high',
    'alive', 'converged_alive', 'rate_alive', 'alive_ci_low', 'alive_ci_high', 'lacks_metric', 'metric', 'threshold', 'epoch', 'metric_median',
    // Outcome counts are prefixed: a bare `converged` would repeat the k column's name.
    ...OUTCOMES.map((o) => `outcome_${o}`),
    'val_mae_q1', 'val_mae_median', 'val_mae_q3', 'converged_epoch_q1', 'converged_epoch_median', 'converged_epoch_q3',
  ];
  const lines = [header.map(csvField).join(',')];
  for (const c of cells) {
    lines.push(
      [
        ...axes.map((a) => c.params[a] ?? null),
        c.runs, c.done, c.converged, c.n, c.rate, c.ci.lo, c.ci.hi,
        c.alive, c.convergedAlive, c.rateAlive, c.ciAlive.lo, c.ciAlive.hi, c.lacksMetric, c.metric, c.threshold, c.epoch, c.ruleMedian,
        ...OUTCOMES.map((o) => c.outcomes[o]),
        c.valMae.q1, c.valMae.median, c.valMae.q3, c.convergedEpoch.q1, c.convergedEpoch.median, c.convergedEpoch.q3,
      ].map(csvField).join(','),
    );
  }
  // RFC 4180 records end with CRLF.
  return lines.join('\r\n') + '\r\n';
}

/** A user sweep's CSV: the built-in one without the alive-at-init and val_mae columns, with the code versions. */
function formatUserCsv(cells: readonly CellSummary[], axes: readonly string[]): string {
  const header = [
    ...axes, 'runs', 'done', 'converged', 'n', 'rate', 'ci_low', 'ci_high', 'lacks_metric', 'metric', 'threshold', 'epoch', 'metric_median',
    ...OUTCOMES.map((o) => `outcome_${o}`),
    'converged_epoch_q1', 'converged_epoch_median', 'converged_epoch_q3', 'code_hashes',
  ];
  const lines = [header.map(csvField).join(',')];
  for (const c of cells) {
    lines.push(
      [
        ...axes.map((a) => c.params[a] ?? null),
        c.runs, c.done, c.converged, c.n, c.rate, c.ci.lo, c.ci.hi, c.lacksMetric, c.metric, c.threshold, c.epoch, c.ruleMedian,
        ...OUTCOMES.map((o) => c.outcomes[o]),
        c.convergedEpoch.q1, c.convergedEpoch.median, c.convergedEpoch.q3, (c.codeHashes ?? []).map((h) => h.hash).join(' '),
      ].map(csvField).join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * Render cell summaries for a terminal (`table`), GitHub (`md`), spreadsheets (`csv`) or scripts
 * (`json`). `header` (from headerLines) is printed above the table and markdown tables, one line
 * each; csv and json stay pure data.
 */
export function formatCells(cells: readonly CellSummary[], axes: readonly string[], format: CellFormat, header: readonly string[] = []): string {
  switch (format) {
    case 'table':
      return (header.length > 0 ? header.join('\n') + '\n\n' : '') + formatTable(cells, axes);
    case 'md':
      // A blank line between header lines, so that each renders as its own paragraph.
      return (header.length > 0 ? header.map(escapeMdText).join('\n\n') + '\n\n' : '') + formatMarkdown(cells, axes);
    case 'csv':
      return formatCsv(cells, axes);
    case 'json':
      return JSON.stringify(cells.map(cellToJson), null, 2) + '\n';
  }
}

// Characters that would turn a header line into markup or HTML. Underscores stay: GitHub does
// not read the one inside kernel_gain as emphasis, and the line should read as in the table.
function escapeMdText(s: string): string {
  // `<` only where it could open a tag, so that a filter like seed<=5 reads as typed.
  return s.replace(/([\\`*])/g, '\\$1').replace(/<(?=[A-Za-z/!?])/g, '\\<');
}
