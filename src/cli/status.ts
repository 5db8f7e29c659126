import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { EXIT } from '../errors';
import { renderStatus, sweepComplete, type StatusFrame } from '../report/status';
import { openDb, readProgress, readSweepPace, readSweep, type Db } from '../store';
import { sweepEtaSeconds } from '../sweep/eta';
import { onOutputClosed, writeOut } from './common';

/** One look at the database: progress over all runners and the sweep-wide ETA. */
export function readStatusFrame(db: Db, file: string, now = Date.now() / 1000): StatusFrame {
  const sweep = readSweep(db, file);
  const progress = readProgress(db);
  // Runs in flight across every runner are the sweep's parallelism for the cost-model fallback.
  const etaSeconds = sweepEtaSeconds(readSweepPace(db), now, Math.max(1, progress.running));
  return { sweep: { name: sweep.name, specPath: sweep.specPath, updatedAt: sweep.updatedAt }, progress, etaSeconds };
}

/** What `status --watch` needs from the outside world, injectable so a test can drive it with a fake clock. */
export interface WatchIo {
  read(): StatusFrame;
  /** Show one frame (the CLI clears the screen first on a terminal). */
  draw(text: string, frame: StatusFrame): void;
  /** Wait for the next redraw; resolves early when interrupted. */
  sleep(ms: number): Promise<void>;
  interrupted(): boolean;
}

/** Redraw every `intervalMs` until the sweep is complete (→ 'complete') or the user interrupts. */
export async function watchStatus(io: WatchIo, intervalMs = 1000): Promise<'complete' | 'interrupted'> {
  for (;;) {
    const frame = io.read();
    io.draw(renderStatus(frame), frame);
    if (sweepComplete(frame.progress)) return 'complete';
    if (io.interrupted()) return 'interrupted';
    await io.sleep(intervalMs);
    if (io.interrupted()) return 'interrupted';
  }
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('progress of a sweep database (safe while `converge run` writes it)')
    .argument('<db>', 'result database (.db)')
    .option('--json', 'print as JSON')
    .option('-w, --watch', 'redraw every second until the sweep is complete (Ctrl-C to leave)')
    .addHelpText(
      'after',
      `
Progress counts every runner on the database (several \`converge run\` or shards on one file).
The ETA comes from the whole sweep's pace (runs finished in the last hour), or from the cost
model before two runs have finished; \`converge run\`'s progress bar shows the same estimate.

Exit codes: 0 shown (--watch: the sweep is complete), 3 database problem, 130 Ctrl-C during --watch.

Examples:
  converge status results/smoke.db
  converge status results/smoke.db --watch`,
    )
    .action(async (file: string, opts: { json?: boolean; watch?: boolean }) => {
      const frames = new FrameReader(file);
      try {
        if (!opts.watch) {
          const frame = frames.read();
          if (opts.json) writeOut(JSON.stringify({ sweep: frame.sweep.name, spec: frame.sweep.specPath, ...frame.progress, eta_seconds: finiteOrNull(frame.etaSeconds) }, null, 2));
          else writeOut(renderStatus(frame));
          return;
        }
        const tty = Boolean(process.stdout.isTTY);
        let stop = false;
        let wake: (() => void) | undefined;
        const onSignal = () => {
          stop = true;
          wake?.();
        };
        let readerGone = false;
        const offClosed = onOutputClosed(() => {
          readerGone = true; // `status --watch | head`: nobody reads any more, end quietly
          onSignal();
        });
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          let first = true;
          const end = await watchStatus({
            read: () => frames.read(),
            draw: (text, frame) => {
              // A terminal gets the frame redrawn in place; a pipe or log gets one JSON or text block per second.
              if (opts.json) writeOut(JSON.stringify({ sweep: frame.sweep.name, ...frame.progress, eta_seconds: finiteOrNull(frame.etaSeconds) }));
              else if (tty) process.stdout.write(`${first ? '\x1b[2J' : ''}\x1b[H\x1b[J${text}\n`);
              else writeOut(`${first ? '' : '\n'}${text}`);
              first = false;
            },
            sleep: (ms) =>
              new Promise<void>((resolve) => {
                const t = setTimeout(resolve, ms);
                wake = () => {
                  clearTimeout(t);
                  resolve();
                };
              }),
            interrupted: () => stop,
          });
          if (end === 'interrupted' && !readerGone) process.exitCode = EXIT.interrupted;
        } finally {
          offClosed();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      } finally {
        frames.close();
      }
    });
}

/**
 * The database opened for each frame and closed after it, so that a runner ending while
 * `status --watch` looks on finds no reader attached and leaves its database self-contained
 * (closeDb). An in-memory copy (a closed WAL-mode database, see openDb) is kept while the file
 * stays as it is, rather than read again every second: a writer that opens the file creates its
 * -wal, and one that came and went changed the file.
 */
class FrameReader {
  private kept: { db: Db; mtimeMs: number } | undefined;

  constructor(private readonly file: string) {}

  read(): StatusFrame {
    // Taken before the open, so a change while it reads shows at the next frame. NaN (no file:
    // openDb says so) never equals itself, so nothing is kept.
    const mtimeMs = existsSync(this.file) ? statSync(this.file).mtimeMs : NaN;
    if (this.kept && (this.kept.mtimeMs !== mtimeMs || existsSync(`${this.file}-wal`))) this.close();
    const db = this.kept?.db ?? openDb(this.file, { readonly: true });
    try {
      return readStatusFrame(db, this.file);
    } finally {
      if (db.memory) this.kept = { db, mtimeMs };
      else db.close();
    }
  }

  close(): void {
    this.kept?.db.close();
    this.kept = undefined;
  }
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
