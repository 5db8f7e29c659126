/**
 * The life cycle of a user trainer's run (module or command, issue 18): its epochs as metric rows,
 * its process while it runs, its finish or failure with the code that trained it. Every write is
 * fenced like recordEpoch/finishRun (runs.ts): conditional on `owner = me AND status = 'running'`,
 * false when the claim was lost. Built-in runs never come here.
 */
import type { MetricDirection, CodeIdentity, ReportedEpoch } from '../trainer/types';
import type { ProcessRecord } from '../trainer/process-group';
import type { Outcome, Rule, ScoredEpoch } from '../outcome';
import type { Db } from './open';
import { ownerGoneHere } from './owner';
import { prepared } from './prepared';
import { currentRule, sameStoredRule, rescoreAll } from './rescore';
import type { RunClaim } from './runs';

const nowIso = () => new Date().toISOString();
const HELD = `EXISTS (SELECT 1 FROM runs WHERE id = @id AND owner = @owner AND status = 'running')`;
const finite = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

const EPOCH_SQL = `INSERT OR REPLACE INTO epochs (run_id, epoch, seconds) SELECT @id, @epoch, @seconds WHERE ${HELD}`;
// One statement for all of an epoch's metrics: json_each turns the bound object into rows.
const METRICS_SQL = `INSERT OR REPLACE INTO epoch_metrics (run_id, epoch, name, value) SELECT @id, @epoch, key, value FROM json_each(@metrics)`;

/** Record one epoch of a claimed user run (an epochs row, and a row per metric); false when the claim is lost. */
export function recordUserEpoch(db: Db, claim: RunClaim, e: ReportedEpoch, seconds: number): boolean {
  return db.transaction((): boolean => {
    const p = { id: claim.id, owner: claim.owner, epoch: e.epoch };
    if (prepared(db, EPOCH_SQL).run({ ...p, seconds }).changes !== 1) return false;
    const metrics: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(e.metrics)) metrics[k] = finite(v);
    prepared(db, METRICS_SQL).run({ id: claim.id, epoch: e.epoch, metrics: JSON.stringify(metrics) });
    return true;
  }).immediate();
}

/** Record (or clear, with null) the process group of a claimed command run; false when the claim is lost. */
export function recordRunProcess(db: Db, claim: RunClaim, p: ProcessRecord | null): boolean {
  return prepared(db, `UPDATE runs SET process_json = @p WHERE id = @id AND owner = @owner AND status = 'running'`)
    .run({ id: claim.id, owner: claim.owner, p: p === null ? null : JSON.stringify(p) }).changes === 1;
}

export interface UserRunFinish {
  outcome: Outcome;
  convergedEpoch: number | null;
  epochsRun: number;
  seconds: number;
  /** The rule `outcome` was scored under; when the sweep's rule differs by now, the run is re-scored under it. */
  rule: Rule;
  code: CodeIdentity;
  outputTail?: string;
  logPath?: string;
  device?: string;
  /**
   * Which way each metric is better (a module's exported `metrics`), for run_metrics.best. The
   * rule's metric follows the rule's direction; any other metric not named here is better lower.
   */
  directions?: Readonly<Record<string, MetricDirection>>;
}

/** Record a claimed user run done, with its final and best metrics; false (nothing written) when the claim is lost. */
export function finishUserRun(db: Db, claim: RunClaim, f: UserRunFinish): boolean {
  return db.transaction((): boolean => {
    const ok = prepared(
      db,
      `UPDATE runs SET status = 'done', outcome = @outcome, converged_epoch = @convergedEpoch, epochs_run = @epochsRun, seconds = @seconds,
         code_hash = @codeHash, command_line = @commandLine, output_tail = @outputTail, log_path = @logPath, device = coalesce(@device, device),
         process_json = NULL, error = NULL, owner = NULL, lease_until = NULL, trained_by = @owner, finished_at = @now
       WHERE id = @id AND owner = @owner AND status = 'running'`,
    ).run({
      id: claim.id,
      owner: claim.owner,
      outcome: f.outcome,
      convergedEpoch: f.convergedEpoch,
      epochsRun: f.epochsRun,
      seconds: f.seconds,
      ...codeColumns(f),
      now: nowIso(),
    }).changes === 1;
    if (!ok) return false;
    const current = currentRule(db);
    const changed = current !== undefined && !sameStoredRule(current, f.rule);
    // The best value of the rule's metric follows the sweep's current rule, like its outcome.
    writeRunMetrics(db, claim.id, changed ? current : f.rule, f.directions);
    if (changed) rescoreAll(db, current, claim.id);
    return true;
  }).immediate();
}

function codeColumns(x: { code?: CodeIdentity; outputTail?: string; logPath?: string; device?: string }) {
  return {
    codeHash: x.code?.codeHash ?? null,
    commandLine: x.code?.commandLine ?? null,
    outputTail: x.outputTail ?? null,
    logPath: x.logPath ?? null,
    device: x.device ?? null,
  };
}

/**
 * run_metrics of one run from its epoch_metrics: the value at the last epoch that reported the
 * metric (NULL when that was NaN/Inf), and the best finite value with its epoch.
 */
function writeRunMetrics(db: Db, runId: number, rule: Rule, directions: Readonly<Record<string, MetricDirection>> = {}): void {
  const rows = prepared(db, `SELECT name, epoch, value FROM epoch_metrics WHERE run_id = ? ORDER BY name, epoch`).all(runId) as { name: string; epoch: number; value: number | null }[];
  const insert = prepared(db, `INSERT OR REPLACE INTO run_metrics (run_id, name, final, best, best_epoch) VALUES (?, ?, ?, ?, ?)`);
  prepared(db, `DELETE FROM run_metrics WHERE run_id = ?`).run(runId);
  let i = 0;
  while (i < rows.length) {
    const name = rows[i]!.name;
    const above = (name === rule.metric ? rule.direction : directions[name]) === 'above';
    let final: number | null = null;
    let best: number | null = null;
    let bestEpoch: number | null = null;
    for (; i < rows.length && rows[i]!.name === name; i++) {
      const r = rows[i]!;
      final = r.value;
      if (r.value !== null && (best === null || (above ? r.value > best : r.value < best))) [best, bestEpoch] = [r.value, r.epoch];
    }
    insert.run(runId, name, final, best, bestEpoch);
  }
}

/** Record a claimed user run failed or timed out; false (nothing written) when the claim is lost. */
export function failUserRun(
  db: Db,
  claim: RunClaim,
  kind: 'failed' | 'timed_out',
  error: string,
  seconds: number,
  extra: { code?: CodeIdentity; outputTail?: string; logPath?: string; device?: string },
): boolean {
  return prepared(
    db,
    `UPDATE runs SET status = 'failed', outcome = @kind, error = @error, seconds = @seconds,
       epochs_run = (SELECT count(*) FROM epochs WHERE run_id = @id),
       code_hash = coalesce(@codeHash, code_hash), command_line = coalesce(@commandLine, command_line), output_tail = @outputTail,
       log_path = @logPath, device = coalesce(@device, device),
       process_json = NULL, owner = NULL, lease_until = NULL, trained_by = @owner, finished_at = @now
     WHERE id = @id AND owner = @owner AND status = 'running'`,
  ).run({ id: claim.id, owner: claim.owner, kind, error, seconds, ...codeColumns(extra), now: nowIso() }).changes === 1;
}

/**
 * The process groups of command runs whose claiming converge died on this host (kill -9): the
 * caller ends each with endOrphanGroup (safe against PID reuse), then expireDeadOwners hands the
 * runs back. Owners elsewhere, or alive, are left alone: their runs are theirs while the lease holds.
 */
export function orphanRecords(db: Db): { runId: number; owner: string; record: ProcessRecord }[] {
  const rows = db
    .prepare(`SELECT id, owner, process_json FROM runs WHERE status = 'running' AND process_json IS NOT NULL AND owner IS NOT NULL ORDER BY id`)
    .all() as { id: number; owner: string; process_json: string }[];
  const out: { runId: number; owner: string; record: ProcessRecord }[] = [];
  for (const r of rows) {
    if (!ownerGoneHere(r.owner)) continue;
    let record: ProcessRecord;
    try {
      record = JSON.parse(r.process_json) as ProcessRecord;
    } catch {
      continue; // not written by recordRunProcess: nothing to end safely
    }
    out.push({ runId: r.id, owner: r.owner, record });
  }
  return out;
}

/**
 * The stored epochs of user runs as ScoredEpoch (built-in fields null, the metrics in `extra`),
 * by run id, in epoch order. `ids` limits the read (undefined: every user run).
 */
export function readUserEpochsByRun(db: Db, ids?: readonly number[]): Map<number, (ScoredEpoch & { seconds: number })[]> {
  const out = new Map<number, (ScoredEpoch & { seconds: number })[]>();
  if (!(prepared(db, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'epoch_metrics'`).get())) return out;
  const wanted = ids ? new Set(ids) : undefined;
  const epochs = db
    .prepare(`SELECT e.run_id AS runId, e.epoch, e.seconds FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.trainer <> 'builtin' ORDER BY e.run_id, e.epoch`)
    .all() as { runId: number; epoch: number; seconds: number }[];
  const index = new Map<string, Record<string, number | null>>();
  for (const e of epochs) {
    if (wanted && !wanted.has(e.runId)) continue;
    const extra: Record<string, number | null> = {};
    index.set(`${e.runId}:${e.epoch}`, extra);
    let list = out.get(e.runId);
    if (!list) out.set(e.runId, (list = []));
    list.push({ epoch: e.epoch, loss: null, mae: null, valLoss: null, valMae: null, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, extra, seconds: e.seconds });
  }
  for (const m of db.prepare(`SELECT run_id AS runId, epoch, name, value FROM epoch_metrics`).iterate() as Iterable<{ runId: number; epoch: number; name: string; value: number | null }>) {
    const extra = index.get(`${m.runId}:${m.epoch}`);
    if (extra) extra[m.name] = m.value;
  }
  return out;
}
