import { resolvedParamsJson, runCost, type Plan } from '../grid';
import { diffSpecText, PARAM_NAMES, type SweepSpec } from '../spec';
import { formatRule, sameRule, type Outcome, type Rule } from '../outcome';
import type { EpochMetrics } from '../train/contract';
import { checkSameSweep, type Db } from './open';
import { rescoreAll, ruleColumns, sameStoredRule, storedRule } from './rescore';
import { prepared } from './prepared';
import { fillRunCosts } from './run-cost';

const nowIso = () => new Date().toISOString();
const nowSec = () => Date.now() / 1000;

export interface PlanSync {
  /** Runs new to this database. */
  added: number;
  /** Runs already present (done or not) that the current spec still plans. */
  kept: number;
  /** Runs from an earlier version of the spec that the current one no longer plans (kept, not reported). */
  retired: number;
  /** True when the spec text differs from the one recorded last. */
  specChanged: boolean;
  /** What changed from the previous version (`train.epochs: 3 → 4`…), when specChanged. */
  changes: string[];
  /**
   * Set when the spec's `converged` rule differs from the recorded one: every finished run was
   * re-scored from its stored epochs (nothing retrained) in the same transaction.
   */
  rescored?: { runs: number; from: Rule; to: Rule; text: string };
}

/** A claimed run, ready to train. */
export interface ClaimedRun {
  id: number;
  runKey: string;
  seed: number;
  paramsJson: string;
  attempts: number;
}

/**
 * What a write to a claimed run is fenced on: the run and the process that claimed it. Every
 * such write is conditional on `owner = me AND status = 'running'` and reports whether it
 * happened, so a process whose lease expired (stalled, suspended, cut off) can never finish,
 * fail or add epochs to a run that another process now holds.
 */
export interface RunClaim {
  id: number;
  owner: string;
}

export interface RunFinish {
  backend: string;
  /** null: the run lacks the rule's metric (unseen_mae when every row was drawn). */
  outcome: Outcome | null;
  /** False: the ReLU output was dead before the first update (TrainSummary.aliveAtInit). */
  aliveAtInit: boolean;
  /** The rule `outcome` was scored under; when the sweep's rule differs by now, the run is re-scored under it. */
  rule?: Rule;
  final: EpochMetrics | undefined;
  convergedEpoch: number | null;
  epochsRun: number;
  seconds: number;
}

function boolToInt(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/**
 * Make the database hold the plan: record the sweep (refusing a database of another sweep),
 * insert the runs it does not have yet (keyed by run_key, so resume never duplicates), and
 * flag runs that the current spec no longer plans as retired (in_plan = 0) — kept, never mixed in.
 * Runs in `keepCells` are never retired (cells another process plans: a sharded search's other
 * boundaries).
 */
export function syncPlan(db: Db, file: string, spec: SweepSpec, plan: Plan, keepCells?: ReadonlySet<string>): PlanSync {
  const builtin = spec.trainer.kind === 'builtin';
  // A user trainer's run has no built-in parameter columns: its declared parameters are params_json.
  const insertCols = builtin ? ['run_key', 'cell_key', 'seed', 'repeat', ...PARAM_NAMES, 'params_json', 'cost'] : ['run_key', 'cell_key', 'seed', 'repeat', 'params_json', 'cost', 'trainer'];
  const insert = db.prepare(
    `INSERT INTO runs (${insertCols.join(', ')}) VALUES (${insertCols.map((c) => `@${c}`).join(', ')}) ON CONFLICT (run_key) DO NOTHING`,
  );
  return db
    .transaction((): PlanSync => {
      const sweep = db
        .prepare(`SELECT name, spec_hash, spec_text, ${ruleColumns(db)} FROM sweep WHERE id = 1`)
        .get() as { name: string; spec_hash: string; spec_text: string; metric: string; threshold: number; direction: string | null; at: string | null } | undefined;
      checkSameSweep(file, sweep?.name, spec.name);
      const specChanged = sweep !== undefined && sweep.spec_hash !== spec.source.hash;
      const changes = sweep && specChanged ? diffSpecText(sweep.spec_text, spec) : [];
      db.prepare(
        `INSERT INTO sweep (id, name, spec_path, spec_text, spec_hash, axes, converged_metric, converged_threshold, converged_direction, converged_at, created_at, updated_at)
         VALUES (1, @name, @path, @text, @hash, @axes, @metric, @threshold, @direction, @at, @now, @now)
         ON CONFLICT (id) DO UPDATE SET spec_path = @path, spec_text = @text, spec_hash = @hash, axes = @axes,
           converged_metric = @metric, converged_threshold = @threshold, converged_direction = @direction, converged_at = @at, updated_at = @now`,
      ).run({
        name: spec.name,
        path: spec.source.path,
        text: spec.source.text,
        hash: spec.source.hash,
        axes: JSON.stringify(plan.axes),
        metric: spec.converged.metric,
        threshold: spec.converged.threshold,
        direction: spec.converged.direction ?? null,
        at: spec.converged.at ?? null,
        now: nowIso(),
      });
      let added = 0;
      if (builtin) {
        for (const r of plan.runs) {
          const row: Record<string, unknown> = { run_key: r.runKey, cell_key: r.cellKey, seed: r.seed, repeat: r.repeat, params_json: r.paramsJson, cost: runCost(r.params) };
          for (const k of PARAM_NAMES) row[k] = boolToInt(r.params[k]);
          added += insert.run(row).changes;
        }
      } else {
        // The built-in cost model knows nothing of a user's code: every run costs the same, so
        // runs are claimed in plan order.
        for (const r of plan.runs) {
          added += insert.run({ run_key: r.runKey, cell_key: r.cellKey, seed: r.seed, repeat: r.repeat, params_json: r.paramsJson, cost: 1, trainer: spec.trainer.kind }).changes;
        }
      }
      fillRunCosts(db);
      db.exec(`CREATE TEMP TABLE IF NOT EXISTS plan_keys (run_key TEXT PRIMARY KEY)`);
      db.exec(`DELETE FROM plan_keys`);
      const addKey = db.prepare(`INSERT OR IGNORE INTO plan_keys (run_key) VALUES (?)`);
      for (const r of plan.runs) addKey.run(r.runKey);
      // Cells another process plans (a search shard's other boundaries): their runs stay in the
      // plan whatever this process knows of them, decided inside this write transaction.
      db.exec(`CREATE TEMP TABLE IF NOT EXISTS keep_cells (cell_key TEXT PRIMARY KEY)`);
      db.exec(`DELETE FROM keep_cells`);
      const addCell = db.prepare(`INSERT OR IGNORE INTO keep_cells (cell_key) VALUES (?)`);
      for (const c of keepCells ?? []) addCell.run(c);
      db.exec(`UPDATE runs SET in_plan = (run_key IN (SELECT run_key FROM plan_keys) OR cell_key IN (SELECT cell_key FROM keep_cells))`);
      const retired = db.prepare(`SELECT count(*) FROM runs WHERE in_plan = 0`).pluck().get() as number;
      const result: PlanSync = { added, kept: plan.runs.length - added, retired, specChanged, changes };
      // The rule is not part of the run key: changing it trains nothing, it re-scores what is stored.
      if (sweep && !sameStoredRule(storedRule(sweep), spec.converged)) {
        const from: Rule = storedRule(sweep);
        const runs = rescoreAll(db, spec.converged);
        result.rescored = { runs, from, to: spec.converged, text: `rule ${formatRule(from)} → ${formatRule(spec.converged)}` };
      }
      if (!sweep || specChanged) {
        db.prepare(
          `INSERT INTO spec_versions (spec_hash, spec_text, recorded_at, runs_added, runs_kept, runs_retired, changes) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).run(spec.source.hash, spec.source.text, nowIso(), added, result.kept, retired, JSON.stringify(changes));
      }
      return result;
    })
    .immediate();
}

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseSeconds: number;
  /** Failed runs with fewer attempts than 1 + retries are claimed again (not the ones given up by maxAttempts). */
  retries: number;
  /** Only runs whose key is in this set (sharding); undefined = all. */
  keys?: ReadonlySet<string> | undefined;
  /**
   * A run whose owner vanished (lease expired) after this many claims is not claimed again but
   * recorded failed: it most likely kills the process that trains it. @default 3
   */
  maxAttempts?: number;
}

/** The error text of a run given up by --max-attempts; names the count. */
export function killedWorkerMessage(attempts: number): string {
  return `killed its worker ${attempts} time${attempts === 1 ? '' : 's'} (its process vanished during each attempt); not claimed again past --max-attempts ${attempts}`;
}

/**
 * The claimable runs in claim order: pending ones, running ones whose owner's lease expired, and
 * failed ones with retries left; a run given up by --max-attempts only under a higher
 * --max-attempts. Read through runs_claim (migration 5), which holds the plan's unfinished runs
 * in this order, so taking the first few costs O(log n), not a sort of every unfinished run.
 * INDEXED BY: without statistics the planner would rather OR three status lookups together and
 * sort them all (it did, with a temp B-tree), and this makes that an error instead of a slow claim.
 */
const PICK_SQL = `SELECT id, run_key AS runKey, seed, params_json AS paramsJson, attempts, status, trainer FROM runs INDEXED BY runs_claim
  WHERE in_plan = 1 AND status <> 'done' AND (
    status = 'pending'
    OR (status = 'running' AND lease_until < @now)
    OR (status = 'failed' AND given_up IS NULL AND attempts < @retryLimit)
    OR (status = 'failed' AND given_up = 1 AND attempts < @maxAttempts))
  ORDER BY (status = 'failed'), cost DESC, id`;

/**
 * Claim up to `limit` runs in one IMMEDIATE transaction: pending ones, running ones whose owner's
 * lease expired (that process died), and failed ones with retries left. A claimed run's old
 * epochs are deleted: an interrupted run is redone from epoch 1, never half-mixed. Costliest runs
 * first (grid/cost.ts, stored per run when planned), so a grid of mixed lengths does not end with
 * one worker on a long run. A vanished owner's run that already used `maxAttempts` claims is
 * recorded failed (given up) instead of claimed, and --retries does not claim it again.
 */
export function claimRuns(db: Db, o: ClaimOptions): ClaimedRun[] {
  const maxAttempts = o.maxAttempts ?? 3;
  const pick = prepared(db, PICK_SQL);
  const claim = prepared(
    db,
    `UPDATE runs SET status = 'running', owner = @owner, lease_until = @lease, attempts = attempts + 1,
       started_at = @started, outcome = NULL, error = NULL, finished_at = NULL, given_up = NULL, process_json = NULL WHERE id = @id`,
  );
  const clearEpochs = prepared(db, `DELETE FROM epochs WHERE run_id = ?`);
  const clearMetrics = prepared(db, `DELETE FROM epoch_metrics WHERE run_id = ?`);
  const giveUp = prepared(
    db,
    `UPDATE runs SET status = 'failed', outcome = 'failed', error = @error, owner = NULL, lease_until = NULL, given_up = 1,
       epochs_run = (SELECT count(*) FROM epochs WHERE run_id = @id), finished_at = @now WHERE id = @id`,
  );
  return db
    .transaction((): ClaimedRun[] => {
      const now = nowSec();
      const out: (ClaimedRun & { trainer?: string })[] = [];
      const abandoned: (ClaimedRun & { status: string; trainer: string })[] = [];
      for (const r of pick.iterate({ now, retryLimit: 1 + o.retries, maxAttempts }) as Iterable<ClaimedRun & { status: string; trainer: string }>) {
        if (o.keys && !o.keys.has(r.runKey)) continue;
        if (r.status === 'running' && r.attempts >= maxAttempts) {
          abandoned.push(r);
          continue;
        }
        out.push(r);
        if (out.length >= o.limit) break;
      }
      for (const r of abandoned) giveUp.run({ id: r.id, error: killedWorkerMessage(r.attempts), now: nowIso() });
      for (const r of out) {
        claim.run({ owner: o.owner, lease: now + o.leaseSeconds, started: nowIso(), id: r.id });
        clearEpochs.run(r.id);
        r.attempts += 1;
        if (r.trainer === 'builtin') r.paramsJson = resolvedParamsJson(r.paramsJson);
        else clearMetrics.run(r.id);
        delete (r as { status?: string }).status;
        delete r.trainer;
      }
      return out;
    })
    .immediate();
}

/**
 * Keys of the runs of the plan that another process holds (status running, owner not `owner`):
 * they are neither claimable nor finished until that process ends them or its lease expires.
 */
export function runsHeldByOthers(db: Db, owner: string): string[] {
  return db
    .prepare(`SELECT run_key FROM runs WHERE in_plan = 1 AND status = 'running' AND (owner IS NULL OR owner != ?)`)
    .pluck()
    .all(owner) as string[];
}

/**
 * Extend the lease of every run this process still holds; returns their ids. A run the caller
 * trains that is missing from the answer was taken over by another process (its lease expired).
 */
export function heartbeat(db: Db, owner: string, leaseSeconds: number): Set<number> {
  const ids = prepared(db, `UPDATE runs SET lease_until = ? WHERE owner = ? AND status = 'running' RETURNING id`)
    .pluck()
    .all(nowSec() + leaseSeconds, owner) as number[];
  return new Set(ids);
}

/** The fence every write to a claimed run goes through. */
const HELD = `EXISTS (SELECT 1 FROM runs WHERE id = @id AND owner = @owner AND status = 'running')`;

/** Record one epoch of a claimed run; false (nothing written) when `claim.owner` no longer holds it. */
const RECORD_EPOCH_SQL = `INSERT OR REPLACE INTO epochs (run_id, epoch, loss, mae, val_loss, val_mae, pop_loss, pop_mae, unseen_mae, pop_max_output, seconds)
  SELECT @id, @epoch, @loss, @mae, @valLoss, @valMae, @popLoss, @popMae, @unseenMae, @popMax, @seconds WHERE ${HELD}`;
export function recordEpoch(db: Db, claim: RunClaim, m: EpochMetrics): boolean {
  return (
    prepared(db, RECORD_EPOCH_SQL)
      .run({
        id: claim.id,
        owner: claim.owner,
        epoch: m.epoch,
        loss: nanToNull(m.loss),
        mae: nanToNull(m.mae),
        valLoss: nanToNull(m.valLoss),
        valMae: nanToNull(m.valMae),
        popLoss: nanToNull(m.popLoss),
        popMae: nanToNull(m.popMae),
        unseenMae: nanToNull(m.unseenMae),
        popMax: nanToNull(m.popMaxOutput),
        seconds: m.seconds,
      }).changes === 1
  );
}

/** SQLite has no NaN; a diverged epoch is stored as NULL (outcome says diverged). Same mapping as outcome's toScoredEpoch. */
function nanToNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Record a claimed run done; false (nothing written) when `claim.owner` no longer holds it. */
export function finishRun(db: Db, claim: RunClaim, f: RunFinish): boolean {
  return db.transaction((): boolean => {
    const ok = finishStatement(db, claim, f);
    // Another `converge run` may have changed the sweep's rule (and re-scored every stored run)
    // while this run trained under the old one: then this run follows the current rule too.
    if (ok && f.rule) {
      const current = prepared(db, `SELECT converged_metric AS metric, converged_threshold AS threshold FROM sweep WHERE id = 1`).get() as Rule | undefined;
      if (current && !sameRule(current, f.rule)) rescoreAll(db, current, claim.id);
    }
    return ok;
  }).immediate();
}

function finishStatement(db: Db, claim: RunClaim, f: RunFinish): boolean {
  return prepared(
    db,
    `UPDATE runs SET status = 'done', outcome = @outcome, backend = @backend, final_loss = @loss, final_mae = @mae,
       final_val_loss = @valLoss, final_val_mae = @valMae, final_pop_loss = @popLoss, final_pop_mae = @popMae,
       final_unseen_mae = @unseenMae, alive_at_init = @alive, converged_epoch = @convergedEpoch, epochs_run = @epochsRun,
       seconds = @seconds, error = NULL, owner = NULL, lease_until = NULL, trained_by = @owner, finished_at = @now
     WHERE id = @id AND owner = @owner AND status = 'running'`,
  ).run({
    id: claim.id,
    owner: claim.owner,
    outcome: f.outcome,
    backend: f.backend,
    loss: f.final ? nanToNull(f.final.loss) : null,
    mae: f.final ? nanToNull(f.final.mae) : null,
    valLoss: f.final ? nanToNull(f.final.valLoss) : null,
    valMae: f.final ? nanToNull(f.final.valMae) : null,
    popLoss: nanToNull(f.final?.popLoss),
    popMae: nanToNull(f.final?.popMae),
    unseenMae: nanToNull(f.final?.unseenMae),
    alive: f.aliveAtInit ? 1 : 0,
    convergedEpoch: f.convergedEpoch,
    epochsRun: f.epochsRun,
    seconds: f.seconds,
    now: nowIso(),
  }).changes === 1;
}

/** Record a claimed run failed; false (nothing written) when `claim.owner` no longer holds it. */
export function failRun(db: Db, claim: RunClaim, outcome: 'failed' | 'timed_out', error: string, seconds: number, backend?: string): boolean {
  return prepared(
    db,
    `UPDATE runs SET status = 'failed', outcome = @outcome, error = @error, seconds = @seconds, backend = coalesce(@backend, backend),
       epochs_run = (SELECT count(*) FROM epochs WHERE run_id = @id), owner = NULL, lease_until = NULL, trained_by = @owner, finished_at = @now
     WHERE id = @id AND owner = @owner AND status = 'running'`,
  ).run({ id: claim.id, owner: claim.owner, outcome, error, seconds, backend: backend ?? null, now: nowIso() }).changes === 1;
}

/** Give back runs this process holds (on Ctrl-C): they become pending, their partial epochs go. */
export function releaseRuns(db: Db, owner: string): number {
  return db
    .transaction(() => {
      db.prepare(`DELETE FROM epochs WHERE run_id IN (SELECT id FROM runs WHERE owner = ? AND status = 'running')`).run(owner);
      db.prepare(`DELETE FROM epoch_metrics WHERE run_id IN (SELECT id FROM runs WHERE owner = ? AND status = 'running')`).run(owner);
      return db
        .prepare(`UPDATE runs SET status = 'pending', owner = NULL, lease_until = NULL, started_at = NULL, process_json = NULL, attempts = max(attempts - 1, 0) WHERE owner = ? AND status = 'running'`)
        .run(owner).changes;
    })
    .immediate();
}
