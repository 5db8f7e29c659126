import { parseKerasHeader, parseKerasMetrics } from './keras-log';

/**
 * How a command trainer reports its epochs. One JSON object per line:
 *
 *     {"epoch": 3, "loss": 0.21, "val_loss": 0.25}
 *
 * appended to the file named by `$CONVERGE_METRICS`, or printed on stdout after STDOUT_PREFIX
 * (`converge: {"epoch": 3, "loss": 0.21}`). `epoch` is a whole number from 1 and increases from
 * line to line (gaps are fine: every 5th epoch may report); every other key is a metric whose
 * value is a number. NaN and ±Infinity, as Python's `json.dumps` writes them (bare `NaN`,
 * `Infinity`) or as strings (`"nan"`, `"inf"`), are stored as null: the run diverged there.
 *
 * Failure modes, each with one outcome (the complaints this answers: metrics that silently match
 * nothing, kubeflow/katib#1416 and #748):
 * - a line that is not such an object is skipped; the first one is reported as a warning with its
 *   line number, later ones are counted;
 * - an epoch reported twice or out of order fails the run, with that reason;
 * - epoch 0 fails the run too, with a hint: Keras' `on_epoch_end(epoch)` counts from 0.
 *
 * Keras' own `model.fit(verbose=2)` lines on stdout (keras-log.ts) are the fallback for a script
 * that reports nothing itself: once a JSON record arrives by either route, Keras lines are
 * ignored, so a script with a CONVERGE_METRICS callback and Keras' progress output is recorded
 * once, with the callback's exact values. A Keras epoch is held back until the next `Epoch`
 * header (or the end) so the callback's record for the same epoch has a chance to arrive first.
 */

/** What marks a metrics line on stdout: the prefix, then the JSON object. */
export const STDOUT_PREFIX = 'converge:';

/** The environment variable naming the metrics file. */
export const METRICS_ENV = 'CONVERGE_METRICS';

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Metric name → value; null where the trainer reported NaN or ±Infinity. */
  metrics: Record<string, number | null>;
}

export type MetricsSource = 'metrics-file' | 'stdout';

export interface ProtocolWarning {
  source: MetricsSource;
  /** 1-based line number within that source. */
  line: number;
  message: string;
}

export interface MetricsStreamOptions {
  /** Each epoch as soon as it is accepted, in increasing epoch order. */
  onEpoch?: (record: EpochRecord) => void;
  /** The first bad line of the run (only the first: later ones are counted in `badLines`). */
  onWarning?: (warning: ProtocolWarning) => void;
  /** The run broke the protocol (epoch out of order or twice); nothing is accepted after it. */
  onFailure?: (reason: string) => void;
}

type Parsed = { ok: true; record: EpochRecord } | { ok: false; reason: string };

const NOT_FINITE_STRING = /^[-+]?(?:nan|inf|infinity)$/i;

/**
 * One metrics line (the JSON object, prefix already removed) as an epoch record, or why not.
 * Pure: the stream below decides what a bad line means for the run.
 */
export function parseMetricsLine(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(withNonFiniteAsNull(text));
  } catch {
    return { ok: false, reason: 'is not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'is not a JSON object' };
  const { epoch, ...rest } = value as Record<string, unknown>;
  if (epoch === undefined) return { ok: false, reason: 'has no "epoch"' };
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) return { ok: false, reason: `has "epoch": ${JSON.stringify(epoch)}, expected a whole number from 1` };
  const metrics: Record<string, number | null> = {};
  for (const [name, v] of Object.entries(rest)) {
    if (typeof v === 'number' || v === null) metrics[name] = v;
    else if (typeof v === 'string' && NOT_FINITE_STRING.test(v)) metrics[name] = null;
    else return { ok: false, reason: `has "${name}": ${JSON.stringify(v)}, expected a number` };
  }
  return { ok: true, record: { epoch, metrics } };
}

/**
 * JSON text with bare NaN, Infinity and -Infinity tokens (Python's json.dumps default) replaced by
 * null, leaving strings alone. Plain JSON passes through unchanged.
 */
function withNonFiniteAsNull(text: string): string {
  if (!/NaN|Infinity/.test(text)) return text;
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const token = ['-Infinity', 'Infinity', 'NaN'].find((t) => text.startsWith(t, i));
    if (token) {
      out += 'null';
      i += token.length - 1;
    } else {
      out += c;
    }
  }
  return out;
}

const SOURCE_NAME: Record<MetricsSource, string> = { 'metrics-file': METRICS_ENV, stdout: 'stdout' };

/**
 * One run's metrics, from both routes, in arrival order. Feed it lines; it keeps the accepted
 * epochs, calls back as they are accepted, and records the first protocol failure.
 */
export class MetricsStream {
  private readonly accepted: EpochRecord[] = [];
  private bad = 0;
  private failed: string | undefined;
  /** A JSON record arrived (by either route): Keras lines are no longer read. */
  private explicit = false;
  private keras: { header: number; record?: EpochRecord } | undefined;

  constructor(private readonly options: MetricsStreamOptions = {}) {}

  get epochs(): readonly EpochRecord[] {
    return this.accepted;
  }

  /** Why the run broke the protocol, if it did. */
  get failure(): string | undefined {
    return this.failed;
  }

  /** Lines skipped as not a metrics record. */
  get badLines(): number {
    return this.bad;
  }

  /** A line of the CONVERGE_METRICS file: every non-blank line must be a record. */
  pushFileLine(line: string, lineNumber: number): void {
    if (line.trim() === '') return;
    this.pushJson(line, 'metrics-file', lineNumber);
  }

  /** A line of stdout: a prefixed record, a Keras epoch line, or anything else (ignored). */
  pushStdoutLine(line: string, lineNumber: number): void {
    const start = line.indexOf(STDOUT_PREFIX);
    if (start !== -1 && line.slice(0, start).trim() === '') {
      this.pushJson(line.slice(start + STDOUT_PREFIX.length), 'stdout', lineNumber);
      return;
    }
    if (this.explicit || this.failed !== undefined) return;
    const header = parseKerasHeader(line);
    if (header) {
      this.flushKeras();
      this.keras = { header: header.epoch };
      return;
    }
    // Only the first end-of-epoch line after a header: a later model.evaluate() prints the same shape.
    if (this.keras && this.keras.record === undefined) {
      const metrics = parseKerasMetrics(line);
      if (metrics) this.keras.record = { epoch: this.keras.header, metrics };
    }
  }

  /** The streams ended: a held-back Keras epoch is accepted now. */
  end(): void {
    if (!this.explicit) this.flushKeras();
  }

  private pushJson(text: string, source: MetricsSource, lineNumber: number): void {
    if (this.failed !== undefined) return;
    const parsed = parseMetricsLine(text);
    if (!parsed.ok) {
      if (this.bad++ === 0) {
        const shown = text.trim().length > 80 ? `${text.trim().slice(0, 77)}...` : text.trim();
        this.options.onWarning?.({ source, line: lineNumber, message: `${SOURCE_NAME[source]} line ${lineNumber} ${parsed.reason} (${JSON.stringify(shown)}); skipped, and later bad lines are only counted` });
      }
      return;
    }
    this.explicit = true;
    this.keras = undefined;
    this.accept(parsed.record, `${SOURCE_NAME[source]} line ${lineNumber}`);
  }

  private flushKeras(): void {
    const record = this.keras?.record;
    this.keras = undefined;
    if (record) this.accept(record, `Keras "Epoch ${record.epoch}" line`);
  }

  private accept(record: EpochRecord, where: string): void {
    const last = this.accepted[this.accepted.length - 1];
    let reason: string | undefined;
    if (record.epoch === 0) reason = `${where}: epoch 0; epochs count from 1 (Keras' on_epoch_end(epoch) counts from 0: report epoch + 1)`;
    else if (last && record.epoch === last.epoch) reason = `${where}: epoch ${record.epoch} reported twice`;
    else if (last && record.epoch < last.epoch) reason = `${where}: epoch ${record.epoch} reported after epoch ${last.epoch}; epochs must increase`;
    if (reason !== undefined) {
      this.failed = reason;
      this.options.onFailure?.(reason);
      return;
    }
    this.accepted.push(record);
    this.options.onEpoch?.(record);
  }
}
