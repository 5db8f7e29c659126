import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { claimRuns, expireDeadOwners, openDb, ownerId, syncPlan } from '../../src/store';
import { ROOT, tempDir } from '../helpers';

const STORE = join(ROOT, 'dist', 'src', 'store');

/** The owner id a process started through `prefix` (e.g. unshare …; none: directly) gave itself, then exited. */
function ownerIdOf(prefix: string[]): string {
  const command = [...prefix, process.execPath, '-e', `process.stdout.write(require(${JSON.stringify(STORE)}).ownerId())`];
  const r = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a running claim whose owner is on this host but in another PID namespace keeps its claim while its lease holds', () => {
  const file = join(tempDir(), 'ns.db');
  const spec = parseSpec('name: ns\nseed: 1\nrepeats: 4\ndata: {seq_len: 20, n_samples: 20}\n', 'ns.yaml');
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  // A pid that is free in this namespace: in another container it is a live runner.
  const freePid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const owners = {
    // Another container with the same hostname and its own PID namespace, as earlier versions named it.
    otherNamespaceOld: `${hostname()}:${freePid}:lx2k`,
    // A real process in its own PID namespace (unshare), as this version names it: pid 1 there.
    otherNamespace: ownerIdOf(['unshare', '--pid', '--fork', '--mount-proc']),
    // A process of this namespace that has exited: its claims go at once.
    deadHere: ownerIdOf([]),
  };
  const lease = Date.now() / 1000 + 3600;
  const hold = db.prepare(`UPDATE runs SET status = 'running', owner = ?, lease_until = ?, attempts = 1 WHERE seed = ?`);
  Object.values(owners).forEach((owner, i) => hold.run(owner, lease, i + 1));

  assert.equal(expireDeadOwners(db), 1, 'only the exited process of this namespace is declared dead');
  const claimed = claimRuns(db, { owner: ownerId(), limit: 4, leaseSeconds: 30, retries: 0 });
  assert.deepEqual(claimed.map((r) => r.seed).sort(), [3, 4], "the dead owner's run and the pending one are claimed, the live ones are not");
  const held = db.prepare(`SELECT seed, owner, attempts, lease_until AS leaseUntil FROM runs WHERE seed IN (1, 2) ORDER BY seed`).all();
  assert.deepEqual(held, [
    { seed: 1, owner: owners.otherNamespaceOld, attempts: 1, leaseUntil: lease },
    { seed: 2, owner: owners.otherNamespace, attempts: 1, leaseUntil: lease },
  ]);
  db.close();
});

test('owner ids name the host and pid and differ between two processes started in the same instant', () => {
  const a = ownerId();
  const b = ownerId();
  assert.notEqual(a, b);
  assert.ok(a.startsWith(`${hostname()}/${process.pid}/`), a);
});
