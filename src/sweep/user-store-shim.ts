/**
 * SHIM until H2's store functions land in src/store (issue 18 design, "Store"): the coordinator
 * swaps this import for the same names from '../store' at merge. Signatures as the design fixes
 * them. Without migration 6 the columns and tables it needs are added here on first use, under
 * the design's names; an outcome of no_metric is stored as NULL (schema 5's CHECK refuses it).
 */
import { hostname } from 'node:os';
import type { Outcome, Rule } from '../outcome';
import type { Db, RunClaim } from '../store';
import type { ProcessRecord } from '../trainer/process-group';
import type { CodeIdentity, ReportedEpoch } from '../trainer/types';

const ready = new WeakSet<Db>();
const COLUMNS = ['trainer', 'code_hash', 'command_line', 'device', 'log_path', 'output_tail', 'process_json'];

function ensure(db: Db): void {
  if (ready.has(db)) return;
  const have = new Set((db.prepare(`PRAGMA table_info(runs)`).all() as { name: string }[]).map((c) => c.name));
  db.transaction(() => {
    for (const c of COLUMNS) if (!have.has(c)) db.exec(`ALTER TABLE runs ADD COLUMN ${c} TEXT`);
    db.exec(`CREATE TABLE IF NOT EXISTS epoch_metrics (run_id INTEGER NOT NULL, epoch INTEGER NOT NULL, name TEXT NOT NULL, value REAL, PRIMARY KEY (run_id, name, epoch)) WITHOUT ROWID`);
    db.exec(`CREATE TABLE IF NOT EXISTS run_metrics (run_id INTEGER NOT NULL, name TEXT NOT NULL, final REAL, best REAL, best_epoch INTEGER, PRIMARY KEY (run_id, name))`);
  }).immediate();
  ready.add(db);
}

const HELD = `EXISTS (SELECT 1 FROM runs WHERE id = @id AND owner = @owner AND status = 'running')`;
const nowIso = () => new Date().toISOString();

export function recordUserEpoch(db: Db, claim: RunClaim, e: ReportedEpoch, seconds: number): boolean {
  ensure(db);
  return db.transaction((): boolean => {
    const ok = db.prepare(`INSERT OR REPLACE INTO epochs (run_id, epoch, seconds) SELECT @id, @epoch, @seconds WHERE ${HELD}`).run({ id: claim.id, owner: claim.owner, epoch: e.epoch, seconds }).changes === 1;
    if (!ok) return false;
    const put = db.prepare(`INSERT OR REPLACE INTO epoch_metrics (run_id, epoch, name, value) VALUES (?, ?, ?, ?)`);
    for (const [name, value] of Object.entries(e.metrics)) put.run(claim.id, e.epoch, name, value);
    return true;
  }).immediate();
}

export function recordRunProcess(db: Db, claim: RunClaim, p: ProcessRecord | null): boolean {
  ensure(db);
  return db.prepare(`UPDATE runs SET process_json = @p WHERE id = @id AND owner = @owner AND status = 'running'`).run({ id: claim.id, owner: claim.owner, p: p === null ? null : JSON.stringify(p) }).changes === 1;
}

export function finishUserRun(
  db: Db,
  claim: RunClaim,
  f: { outcome: Outcome; convergedEpoch: number | null; epochsRun: number; seconds: number; rule: Rule; code: CodeIdentity; outputTail?: string; logPath?: string; device?: string },
): boolean {
  ensure(db);
  return db.transaction((): boolean => {
    const ok =
      db
        .prepare(
          `UPDATE runs SET status = 'done', outcome = @outcome, converged_epoch = @convergedEpoch, epochs_run = @epochsRun, seconds = @seconds,
             error = NULL, code_hash = @codeHash, command_line = @commandLine, output_tail = @outputTail, log_path = @logPath, device = @device,
             process_json = NULL, owner = NULL, lease_until = NULL, trained_by = @owner, finished_at = @now
           WHERE id = @id AND owner = @owner AND status = 'running'`,
        )
        .run({
          id: claim.id,
          owner: claim.owner,
          outcome: f.outcome === 'no_metric' ? null : f.outcome,
          convergedEpoch: f.convergedEpoch,
          epochsRun: f.epochsRun,
          seconds: f.seconds,
          codeHash: f.code.codeHash ?? null,
          commandLine: f.code.commandLine,
          outputTail: f.outputTail ?? null,
          logPath: f.logPath ?? null,
          device: f.device ?? null,
          now: nowIso(),
        }).changes === 1;
    if (!ok) return false;
    const rows = db.prepare(`SELECT epoch, name, value FROM epoch_metrics WHERE run_id = ? ORDER BY epoch`).all(claim.id) as { epoch: number; name: string; value: number | null }[];
    const byName = new Map<string, { final: number | null; best: number | null; bestEpoch: number | null }>();
    const lowerIsBetter = (name: string) => (name === f.rule.metric ? (f.rule.direction ?? 'below') === 'below' : true);
    for (const r of rows) {
      const m = byName.get(r.name) ?? { final: null, best: null, bestEpoch: null };
      m.final = r.value;
      if (r.value !== null && (m.best === null || (lowerIsBetter(r.name) ? r.value < m.best : r.value > m.best))) {
        m.best = r.value;
        m.bestEpoch = r.epoch;
      }
      byName.set(r.name, m);
    }
    const put = db.prepare(`INSERT OR REPLACE INTO run_metrics (run_id, name, final, best, best_epoch) VALUES (?, ?, ?, ?, ?)`);
    for (const [name, m] of byName) put.run(claim.id, name, m.final, m.best, m.bestEpoch);
    return true;
  }).immediate();
}

export function failUserRun(
  db: Db,
  claim: RunClaim,
  kind: 'failed' | 'timed_out',
  error: string,
  seconds: number,
  extra: { code?: CodeIdentity; outputTail?: string; logPath?: string; device?: string },
): boolean {
  ensure(db);
  return (
    db
      .prepare(
        `UPDATE runs SET status = 'failed', outcome = @kind, error = @error, seconds = @seconds,
           epochs_run = (SELECT count(*) FROM epochs WHERE run_id = @id), code_hash = @codeHash, command_line = @commandLine,
           output_tail = @outputTail, log_path = @logPath, device = @device, process_json = NULL,
           owner = NULL, lease_until = NULL, trained_by = @owner, finished_at = @now
         WHERE id = @id AND owner = @owner AND status = 'running'`,
      )
      .run({
        id: claim.id,
        owner: claim.owner,
        kind,
        error,
        seconds,
        codeHash: extra.code?.codeHash ?? null,
        commandLine: extra.code?.commandLine ?? null,
        outputTail: extra.outputTail ?? null,
        logPath: extra.logPath ?? null,
        device: extra.device ?? null,
        now: nowIso(),
      }).changes === 1
  );
}

function ownerDeadHere(owner: string): boolean {
  const parts = owner.split('/');
  if (parts.length < 4) return false;
  const pid = Number(parts[parts.length - 3]);
  if (parts.slice(0, -3).join('/') !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

export function orphanRecords(db: Db): { runId: number; owner: string; record: ProcessRecord }[] {
  ensure(db);
  const rows = db.prepare(`SELECT id, owner, process_json FROM runs WHERE status = 'running' AND owner IS NOT NULL AND process_json IS NOT NULL`).all() as { id: number; owner: string; process_json: string }[];
  return rows.filter((r) => ownerDeadHere(r.owner)).map((r) => ({ runId: r.id, owner: r.owner, record: JSON.parse(r.process_json) as ProcessRecord }));
}
