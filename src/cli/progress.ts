import { SingleBar } from 'cli-progress';
import type { RunEnd } from '../sweep/execute';
import { describeCell } from '../grid';
import type { ParamName } from '../spec';
import { formatDuration, writeOut } from './common';

/**
 * Progress of `converge run`: a bar (runs done/total, converged so far, ETA) on a terminal,
 * one plain line per finished run otherwise (logs, CI, `| tee`).
 */
export class RunProgress {
  private bar: SingleBar | undefined;
  private done: number;
  private converged = 0;
  private failed = 0;
  private readonly total: number;
  private readonly axes: ParamName[];
  private readonly started = Date.now();
  private readonly quiet: boolean;

  constructor(opts: { total: number; alreadyDone: number; axes: ParamName[]; tty: boolean; quiet: boolean }) {
    this.total = opts.total;
    this.done = opts.alreadyDone;
    this.axes = opts.axes;
    this.quiet = opts.quiet;
    if (opts.tty && !opts.quiet) {
      this.bar = new SingleBar({
        format: ' {bar} {value}/{total} runs | {converged} converged | {failed} failed | {elapsed} elapsed | ETA {eta_text}',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      });
      this.bar.start(this.total, this.done, this.payload(0));
    }
  }

  private payload(trainedThisProcess: number) {
    const elapsed = (Date.now() - this.started) / 1000;
    const left = this.total - this.done;
    const eta = trainedThisProcess > 0 ? (elapsed / trainedThisProcess) * left : NaN;
    return { converged: this.converged, failed: this.failed, elapsed: formatDuration(elapsed), eta_text: left === 0 ? '0s' : formatDuration(eta) };
  }

  private trainedHere = 0;

  runEnded(end: RunEnd): void {
    this.done += 1;
    this.trainedHere += 1;
    if (end.outcome === 'converged') this.converged += 1;
    if (end.outcome === 'failed' || end.outcome === 'timed_out') this.failed += 1;
    if (this.bar) {
      this.bar.update(this.done, this.payload(this.trainedHere));
      return;
    }
    if (this.quiet) return;
    const cell = describeCell(Object.fromEntries(this.axes.map((a) => [a, end.params[a]])));
    const mae = end.finalValMae === null ? '' : ` val_mae=${end.finalValMae.toFixed(4)}`;
    const err = end.error ? ` error: ${end.error}` : '';
    writeOut(`[${this.done}/${this.total}] ${cell} seed=${end.seed}: ${end.outcome ?? "unscored (lacks the rule's metric)"}${mae} (${end.seconds.toFixed(2)}s)${err}`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
