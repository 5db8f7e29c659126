/**
 * The Slurm recipe of docs/cluster.md, as written, on a real one-node Slurm cluster (./cluster.ts):
 * the two script blocks are extracted from docs/cluster.md, so the documentation is what is tested. Needs
 * Debian's slurm-wlm and munge (scripts/test-deps.sh installs them); it fails, not skips, when
 * they are missing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, ROOT, runCli, SMALL_SPEC } from '../helpers';
import { missingBinaries, startCluster, type Cluster, type JobTask } from './cluster';

/** The `<!-- slurm: FILE -->` blocks of docs/cluster.md. */
function docScripts(): Map<string, string> {
  const doc = readFileSync(join(ROOT, 'docs', 'cluster.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of doc.matchAll(/<!-- slurm: (\S+) -->\n```bash\n([\s\S]*?)```/g)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

/**
 * A folder laid out like the repository as docs/cluster.md assumes: the two scripts, a sweep, and
 * this build of converge as the `npx converge` of the folder (node_modules/.bin).
 */
function project(spec: { name: string; text: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'converge-slurm-project-'));
  writeFileSync(join(dir, 'package.json'), '{"name": "slurm-project", "private": true}\n');
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(CLI, join(dir, 'node_modules', '.bin', 'converge'));
  mkdirSync(join(dir, 'sweeps'));
  writeFileSync(join(dir, 'sweeps', `${spec.name}.yaml`), spec.text);
  const scripts = docScripts();
  for (const file of ['converge-shards.sbatch', 'converge-submit.sh']) {
    const text = scripts.get(file);
    assert.ok(text, `docs/cluster.md has no "<!-- slurm: ${file} -->" block followed by a bash block`);
    writeFileSync(join(dir, file), text, { mode: 0o755 });
  }
  return dir;
}

const RUN_COLS = 'r.run_key, r.seed, r.status, r.outcome, r.final_loss, r.final_mae, r.final_val_loss, r.final_val_mae, r.converged_epoch, r.epochs_run';

/** Done runs with their final metrics, and every epoch of them, in run-key order. */
function doneRuns(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const runs = db.prepare(`SELECT ${RUN_COLS} FROM runs r WHERE r.status = 'done' ORDER BY r.run_key`).all();
    const epochs = db
      .prepare(`SELECT r.run_key, e.epoch, e.loss, e.mae, e.val_loss, e.val_mae FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.status = 'done' ORDER BY r.run_key, e.epoch`)
      .all();
    return { runs, epochs };
  } finally {
    db.close();
  }
}

function planCount(dir: string, spec: string): number {
  const r = runCli(['plan', spec, '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { run_count: number }).run_count;
}

/** Slurm's output files of the project, for failure messages. */
function slurmOutput(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith('slurm-'))
    .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8')}`)
    .join('\n');
}

describe("the Slurm job array of docs/cluster.md on a real one-node cluster", () => {
  let cluster: Cluster | undefined;
  const projects: string[] = [];

  before(async () => {
    const missing = missingBinaries();
    if (missing.length) {
      throw new Error(`Slurm test: ${missing.join(', ')} not found; install Debian's slurm-wlm and munge (bash scripts/test-deps.sh does)`);
    }
    cluster = await startCluster();
  });

  after(async () => {
    if (cluster) {
      cluster.client('scancel', ['--user', process.env.USER ?? 'root']);
      await cluster.stop();
    }
    for (const p of projects) rmSync(p, { recursive: true, force: true });
  });

  function submit(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): { shards: string; merge: string } {
    const r = cluster!.client('bash', ['converge-submit.sh', ...args], { cwd: dir, env: { CONVERGE_FAULT: '', ...env } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /shards: job (\d+); merge: job (\d+)/.exec(r.stdout);
    assert.ok(m, `converge-submit.sh printed: ${r.stdout}`);
    return { shards: m[1]!, merge: m[2]! };
  }

  async function finished(dir: string, job: string): Promise<JobTask[]> {
    try {
      return await cluster!.waitForJob(job, 120_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${slurmOutput(dir)}`);
    }
  }

  it('the shards and the merge after them give exactly the runs of one unsharded run', async () => {
    const dir = project({ name: 'slurm-ok', text: SMALL_SPEC('slurm-ok') });
    projects.push(dir);
    const whole = runCli(['run', 'sweeps/slurm-ok.yaml', '--db', 'whole.db', '--quiet'], { cwd: dir });
    assert.equal(whole.code, 0, whole.stderr);

    const jobs = submit(dir, ['sweeps/slurm-ok.yaml', '2']);
    const shards = await finished(dir, jobs.shards);
    assert.deepEqual(shards.map((t) => t.state), ['COMPLETED', 'COMPLETED'], slurmOutput(dir));
    const merge = await finished(dir, jobs.merge);
    assert.equal(merge[0]!.state, 'COMPLETED', slurmOutput(dir));

    const merged = doneRuns(join(dir, 'results', 'slurm-ok.db'));
    assert.equal(merged.runs.length, planCount(dir, 'sweeps/slurm-ok.yaml'));
    assert.deepEqual(merged, doneRuns(join(dir, 'whole.db')));
  });

  it('a failed shard cancels the merge; resubmitting it, then merging, gives the full sweep', async () => {
    // One cell, four seeds: the injected failure (seed 5) is in exactly one shard.
    const text = 'name: slurm-fail\nseed: 3\nrepeats: 4\ntrain: {epochs: 3}\ngrid:\n  seq_len: [12]\n  n_samples: [10]\n';
    const dir = project({ name: 'slurm-fail', text });
    projects.push(dir);
    const whole = runCli(['run', 'sweeps/slurm-fail.yaml', '--db', 'whole.db', '--quiet'], { cwd: dir });
    assert.equal(whole.code, 0, whole.stderr);

    const first = submit(dir, ['sweeps/slurm-fail.yaml', '2'], { CONVERGE_FAULT: 'throw:5' });
    const shards = await finished(dir, first.shards);
    const failed = shards.filter((t) => t.state === 'FAILED');
    assert.equal(failed.length, 1, `one shard fails: ${JSON.stringify(shards)}\n${slurmOutput(dir)}`);
    assert.equal(failed[0]!.exitCode, '1:0', 'converge exits 1 when a run failed');
    assert.ok(shards.every((t) => t === failed[0] || t.state === 'COMPLETED'));
    const merge = await finished(dir, first.merge);
    assert.equal(merge[0]!.state, 'CANCELLED', `the merge is cancelled, not left pending: ${JSON.stringify(merge)}`);
    assert.equal(existsSync(join(dir, 'results', 'slurm-fail.db')), false);

    const task = failed[0]!.taskId!;
    const shardDb = join(dir, 'results', `slurm-fail-${task}-of-2.db`);
    const q = runCli(['query', shardDb, '--where', 'status=failed', '--format', 'json'], { cwd: dir });
    assert.equal(q.code, 0, q.stderr);
    const failedRuns = JSON.parse(q.stdout) as { seed: number; error: string }[];
    assert.deepEqual(failedRuns.map((r) => r.seed), [5], 'the shard database names the failed run');
    const doneBefore = readDone(shardDb);

    const again = submit(dir, ['sweeps/slurm-fail.yaml', '2', task, '--retries', '1']);
    const resubmitted = await finished(dir, again.shards);
    assert.deepEqual(resubmitted.map((t) => [t.taskId ?? task, t.state]), [[task, 'COMPLETED']], slurmOutput(dir));
    const merge2 = await finished(dir, again.merge);
    assert.equal(merge2[0]!.state, 'COMPLETED', slurmOutput(dir));

    const after = readDone(shardDb);
    for (const [key, finishedAt] of doneBefore) assert.equal(after.get(key), finishedAt, 'runs done before the failure are kept, not retrained');
    const merged = doneRuns(join(dir, 'results', 'slurm-fail.db'));
    assert.equal(merged.runs.length, 4);
    assert.deepEqual(merged, doneRuns(join(dir, 'whole.db')));
  });
});

function readDone(file: string): Map<string, string> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(`SELECT run_key, finished_at FROM runs WHERE status = 'done'`).all() as { run_key: string; finished_at: string }[];
    return new Map(rows.map((r) => [r.run_key, r.finished_at]));
  } finally {
    db.close();
  }
}
