import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { converge, sandbox } from '../reliability/harness';
import { PYTHON } from '../trainer/python';

test('a command trainer finds its params and metrics files with a relative --db, though it runs in the sweep file\'s folder', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  mkdirSync(join(dir, 'trainer'));
  mkdirSync(join(dir, 'out'));
  writeFileSync(
    join(dir, 'trainer', 'train.py'),
    'import json, os\np = json.load(open(os.environ["CONVERGE_PARAMS"]))\nwith open(os.environ["CONVERGE_METRICS"], "a") as f:\n    f.write(json.dumps({"epoch": 1, "loss": 0.01 * p["width"]}) + "\\n")\n',
  );
  writeFileSync(
    join(dir, 'trainer', 's.yaml'),
    `name: rel\nseed: 1\nrepeats: 2\ntrainer: {command: [${JSON.stringify(PYTHON)}, train.py]}\nparams:\n  width: {type: integer, default: 1}\ngrid: {width: [1, 9]}\nconverged: {metric: loss, below: 0.05}\n`,
  );
  const r = await converge(t, dir, ['run', 'trainer/s.yaml', '--db', 'out/s.db', '--workers', '1', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const h = new Database(join(dir, 'out', 's.db'), { readonly: true });
  try {
    const rows = h.prepare(`SELECT json_extract(params_json, '$.width') AS width, outcome, log_path FROM runs ORDER BY id`).all() as { width: number; outcome: string; log_path: string }[];
    assert.deepEqual(rows.map((x) => [x.width, x.outcome]), [[1, 'converged'], [1, 'converged'], [9, 'not_converged'], [9, 'not_converged']]);
    for (const x of rows) assert.ok(x.log_path.startsWith(join(dir, 'out', 's.db.runs')), x.log_path);
  } finally {
    h.close();
  }
});
