import { isInfrastructure, OUTCOMES } from '../outcome';
import type { Progress } from '../store/queries';
import { formatDuration } from './duration';

/** One look at a sweep database, as `status` shows it. */
export interface StatusFrame {
  sweep: { name: string; specPath: string; updatedAt: string };
  progress: Progress;
  /** Seconds until the sweep is done (sweep/eta.ts), NaN when unknown. */
  etaSeconds: number;
}

/** The sweep has nothing left to train: every run of the plan is done or failed. */
export function sweepComplete(p: Pick<Progress, 'pending' | 'running'>): boolean {
  return p.pending + p.running === 0;
}

/**
 * The text of `status` (and of each redraw of `status --watch`): sweep-wide progress over all
 * runners, converged so far, the runners holding runs, and each run in flight with its epoch.
 */
export function renderStatus(f: StatusFrame): string {
  const p = f.progress;
  const lines: string[] = [];
  const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : '0';
  const complete = sweepComplete(p);
  const eta = complete ? ' · complete' : ` · ETA ${formatDuration(f.etaSeconds)}`;
  lines.push(`sweep ${f.sweep.name} (${f.sweep.specPath}), updated ${f.sweep.updatedAt}`);
  lines.push(`${p.done}/${p.total} runs done (${pct}%) · ${p.running} running · ${p.pending} pending · ${p.failed} failed${eta}`);
  // As in report: failed and timed-out runs (infrastructure) and runs lacking the rule's metric are not in n.
  const finished = OUTCOMES.filter((o) => !isInfrastructure(o) && o !== 'no_metric').reduce((n, o) => n + (p.outcomes[o] ?? 0), 0);
  const infra = (p.outcomes.failed ?? 0) + (p.outcomes.timed_out ?? 0);
  const noMetric = p.outcomes.no_metric ?? 0;
  const apart = [infra ? `${infra} failed or timed out` : '', noMetric ? `${noMetric} without the rule's metric` : ''].filter(Boolean).join(', ');
  lines.push(`converged so far: ${p.outcomes.converged ?? 0} of ${finished} finished runs${apart ? ` (${apart}, not counted)` : ''}`);
  lines.push(`outcomes: ${Object.entries(p.outcomes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none yet'}`);
  if (p.runners.length) {
    lines.push(`runners: ${p.runners.length}`);
    for (const r of p.runners) lines.push(`  ${r.owner}: ${r.running} in flight, ${r.finished} finished`);
  }
  for (const a of p.active) {
    // A user trainer's run has no planned epoch count: only the epochs it reported so far.
    lines.push(`  run ${a.id}: epoch ${a.epochsDone}${a.epochs === null ? '' : `/${a.epochs}`}${a.leaseExpired ? ' (owner stopped heartbeating: will be redone)' : ''}`);
  }
  if (p.specVersions.length > 1) {
    const last = p.specVersions[p.specVersions.length - 1]!;
    lines.push(`the spec changed ${p.specVersions.length - 1} time(s); last change ${last.recordedAt}: ${last.changes.join('; ') || 'formatting only'}; ${last.added} runs added, ${last.kept} kept, ${last.retired} retired`);
  }
  if (p.retired) lines.push(`${p.retired} runs from earlier versions of the spec are kept but not reported`);
  return lines.join('\n');
}
