import { SingleBar } from 'cli-progress';
import type { RunEnd } from '../sweep/execute';
import { describeCell } from '../grid';
import type { ParamName } from '../spec';
import { formatDuration, writeOut } from './common';

/** What the bar shows: the whole sweep's progress (every runner on the database), not this process's. */
export interface BarState {
  done: number;
  total: number;
  converged: number;
  failed: number;
  /** From sweep/eta.ts, the same estimate `status` shows; NaN when unknown. */
  etaSeconds: number;
  /** This process's running time. */
  elapsedSeconds: number;
}

const MIN_BAR = 10;
const MAX_BAR = 30;

/**
 * The progress line in at most `width` columns. The counts and the ETA come first and are never
 * cut; the converged/failed/elapsed parts and the bar itself shrink or go when space is short.
 */
export function formatProgressLine(s: BarState, width: number): string {
  const core = `${s.done}/${s.total} runs · ETA ${s.done >= s.total ? '0s' : formatDuration(s.etaSeconds)}`;
  const extras = [`${s.converged} converged`, `${s.failed} failed`, `${formatDuration(s.elapsedSeconds)} elapsed`];
  let text = core;
  for (const e of extras) {
    const next = `${text} · ${e}`;
    if (next.length + 3 + MIN_BAR <= width) text = next;
  }
  const room = width - text.length - 3; // "[", "] "
  if (room < MIN_BAR) return text.slice(0, width);
  const size = Math.min(MAX_BAR, room);
  const filled = s.total > 0 ? Math.round((size * Math.min(s.done, s.total)) / s.total) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(size - filled)}] ${text}`;
}

/**
 * Progress of `converge run`: a bar on a terminal (redrawn every second and when a run ends,
 * from the database, so it counts every runner's runs), one plain line per run this process
 * finished otherwise (logs, CI, `| tee`).
 */
export class RunProgress {
  private bar: SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly axes: ParamName[];
  private readonly quiet: boolean;
  private readonly read: () => Omit<BarState, 'elapsedSeconds'>;
  private readonly started = Date.now();

  constructor(opts: { read: () => Omit<BarState, 'elapsedSeconds'>; axes: ParamName[]; tty: boolean; quiet: boolean }) {
    this.axes = opts.axes;
    this.quiet = opts.quiet;
    this.read = opts.read;
    if (opts.tty && !opts.quiet) {
      const width = () => Math.max(20, (process.stderr.columns || 80) - 1);
      this.bar = new SingleBar({
        format: (_options, _params, payload: { state: BarState }) => formatProgressLine(payload.state, width()),
        hideCursor: true,
        clearOnComplete: false,
        linewrap: false,
      });
      const s = this.state();
      this.bar.start(s.total, s.done, { state: s });
      this.timer = setInterval(() => this.redraw(), 1000);
      this.timer.unref();
    }
  }

  private state(): BarState {
    return { ...this.read(), elapsedSeconds: (Date.now() - this.started) / 1000 };
  }

  private redraw(): void {
    if (!this.bar) return;
    try {
      const s = this.state();
      this.bar.setTotal(s.total);
      this.bar.update(s.done, { state: s });
    } catch {
      /* a busy database skips one redraw */
    }
  }

  runEnded(end: RunEnd): void {
    if (this.bar) return this.redraw();
    if (this.quiet) return;
    const s = this.read();
    const cell = describeCell(Object.fromEntries(this.axes.map((a) => [a, end.params[a]])));
    // The rule's metric, so the number agrees with the outcome beside it (pop_mae by default).
    const mae = end.metricValue === null ? '' : ` ${end.metric}=${end.metricValue.toFixed(4)}`;
    const err = end.error ? ` error: ${end.error}` : '';
    writeOut(`[${s.done}/${s.total}] ${cell} seed=${end.seed}: ${end.outcome ?? "unscored (lacks the rule's metric)"}${mae} (${end.seconds.toFixed(2)}s)${err}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.bar?.stop();
    this.bar = undefined;
  }
}
