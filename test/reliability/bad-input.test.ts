import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { convergeSync, fileHash, oneLine, sandbox, writeSpec } from './harness';

const GOOD = ['name: good', 'seed: 1', 'repeats: 3', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 20', ''].join('\n');

/** A folder with a good spec and a real database trained from it. */
function withRealDb(t: TestContext): { dir: string; db: string } {
  const dir = sandbox(t);
  writeSpec(dir, 'good.yaml', GOOD);
  const r = convergeSync(dir, ['run', 'good.yaml', '--db', 'good.db', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  return { dir, db: join(dir, 'good.db') };
}

interface Refusal {
  code: number;
  error: string;
  message: RegExp;
}

/** The command fails with exit `code`, one stderr line carrying `[error]` and `message`, no stack. */
function assertRefused(dir: string, args: string[], want: Refusal): string {
  const r = convergeSync(dir, args);
  assert.equal(r.code, want.code, `exit code of \`converge ${args.join(' ')}\`: ${r.stderr}`);
  const line = oneLine(r.stderr);
  assert.ok(line.startsWith('converge: '), line);
  assert.ok(line.endsWith(`[${want.error}]`), `error code ${want.error} in: ${line}`);
  assert.match(line, want.message);
  return line;
}

const SPEC_CASES: { name: string; text: string; error: string; message: RegExp }[] = [
  { name: 'malformed YAML', text: 'name: x\ndata: [unclosed\n', error: 'spec.yaml', message: /bad\.yaml:\d+: malformed YAML/ },
  {
    name: 'a wrong type',
    text: 'name: x\ndata:\n  seq_len: "twenty"\n  n_samples: 10\n',
    error: 'spec.invalid',
    message: /bad\.yaml:3: data\.seq_len: expected a positive integer, got "twenty"/,
  },
  {
    name: 'an unknown key',
    text: 'name: x\ndata:\n  seq_len: 20\n  n_sample: 10\n',
    error: 'spec.unknownKey',
    message: /bad\.yaml:4: data: unknown key "n_sample" \(did you mean "n_samples"\?\)/,
  },
  {
    name: 'a zero size',
    text: 'name: x\ndata:\n  seq_len: 20\n  n_samples: 10\ntrain:\n  epochs: 0\n',
    error: 'spec.invalid',
    message: /bad\.yaml:6: train\.epochs: expected a positive integer, got 0/,
  },
  {
    name: 'a negative size',
    text: 'name: x\ndata:\n  seq_len: 20\n  n_samples: 10\ngrid:\n  batch_size: [1, -4]\n',
    error: 'spec.invalid',
    message: /bad\.yaml:6: grid\.batch_size\[1\]: expected a positive integer, got -4/,
  },
  {
    name: 'n_samples above seq_len + 1',
    text: 'name: x\ndata:\n  seq_len: 20\n  n_samples: 30\n',
    error: 'spec.impossibleCell',
    message: /n_samples=30 > seq_len\+1=21 .*add "impossible: skip"/,
  },
  {
    name: 'a grid of more than 10,000 runs without --yes',
    text: 'name: x\nrepeats: 11\ndata:\n  seq_len: 200\n  n_samples: 10\ngrid:\n  units: [1,2,3,4,5,6,7,8,9,10]\n  batch_size: [1,2,3,4,5,6,7,8,9,10]\n  epochs: [1,2,3,4,5,6,7,8,9,10]\n',
    error: 'spec.tooLarge',
    message: /the sweep has 11000 runs \(more than 10000\); check the grid with `converge plan`, then pass --yes/,
  },
  {
    name: 'a single value where a grid axis needs a list',
    text: 'name: x\ndata:\n  seq_len: 20\ngrid:\n  n_samples: 10\n',
    error: 'spec.invalid',
    message: /bad\.yaml:5: grid\.n_samples: expected a list of values \(e\.g\. \[10, 20\]\), got 10/,
  },
  {
    name: 'an empty grid axis',
    text: 'name: x\ndata:\n  seq_len: 20\ngrid:\n  n_samples: []\n',
    error: 'spec.invalid',
    message: /bad\.yaml:5: grid\.n_samples: expected a non-empty list, got an empty list/,
  },
  {
    name: 'repeats that is not a number',
    text: 'name: x\nrepeats: five\ndata:\n  seq_len: 20\n  n_samples: 10\n',
    error: 'spec.invalid',
    message: /bad\.yaml:2: repeats: expected a positive integer, got "five"/,
  },
  {
    name: 'seq_len at the top level',
    text: 'name: x\nseq_len: 20\nn_samples: 10\n',
    error: 'spec.unknownKey',
    message: /bad\.yaml:2: seq_len belongs under data: \(or grid: as an axis\), not at the top level/,
  },
  {
    name: 'optimizer under model:',
    text: 'name: x\ndata:\n  seq_len: 20\n  n_samples: 10\nmodel:\n  optimizer: adam\n',
    error: 'spec.unknownKey',
    message: /bad\.yaml:6: optimizer belongs under train: \(or grid: as an axis\), not under model:/,
  },
  {
    name: 'a parameter both under data: and in grid:',
    text: 'name: x\ndata:\n  seq_len: 20\n  n_samples: 10\ngrid:\n  n_samples: [5, 10]\n',
    error: 'spec.conflict',
    message: /bad\.yaml:6: grid\.n_samples: "n_samples" is also set under data:; give one value there or several in grid, not both/,
  },
];

for (const c of SPEC_CASES) {
  test(`a spec with ${c.name} is refused with ${c.error} in one line, and no database is created`, (t) => {
    const dir = sandbox(t);
    writeSpec(dir, 'bad.yaml', c.text);
    assertRefused(dir, ['run', 'bad.yaml'], { code: 2, error: c.error, message: c.message });
    assert.deepEqual(readdirSync(dir), ['bad.yaml'], 'nothing written: no results/ folder, no database');
  });
}

const SET_CASES: { args: string[]; error: string; message: RegExp }[] = [
  { args: ['--set', 'train.epochs=abc'], error: 'spec.invalid', message: /^converge: --set train\.epochs=abc: expected a positive integer, got "abc" \[/ },
  { args: ['--set', 'grid.n_samples=[10,-1]'], error: 'spec.invalid', message: /^converge: --set grid\.n_samples=\[10,-1\]: grid\.n_samples\[1\]: expected a positive integer, got -1 \[/ },
  { args: ['--set', 'train.epoch=5'], error: 'spec.unknownKey', message: /^converge: --set train\.epoch=5: train: unknown key "epoch" \(did you mean "epochs"\?\) \[/ },
  { args: ['--set', 'epochs'], error: 'spec.badSet', message: /^converge: --set epochs: expected key=value/ },
];

for (const c of SET_CASES) {
  for (const command of ['run', 'plan']) {
    test(`${command} ${c.args.join(' ')} is refused with ${c.error}, pointing at the --set, and nothing is written`, (t) => {
      const dir = sandbox(t);
      writeSpec(dir, 'good.yaml', GOOD);
      assertRefused(dir, [command, 'good.yaml', ...c.args], { code: 2, error: c.error, message: c.message });
      assert.deepEqual(readdirSync(dir), ['good.yaml'], 'nothing written: no results/ folder, no database');
    });
  }
}

test('--verbose adds the stack trace to a refusal', (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'bad.yaml', SPEC_CASES[1]!.text);
  const r = convergeSync(dir, ['run', 'bad.yaml', '--verbose']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^converge: .*\[spec\.invalid\]\n/);
  assert.match(r.stderr, /\n\s+at /, 'a stack trace follows');
});

test('a database path in a missing folder is refused with store.noFolder and the folder is not created', (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'good.yaml', GOOD);
  assertRefused(dir, ['run', 'good.yaml', '--db', 'nowhere/good.db'], { code: 3, error: 'store.noFolder', message: /the folder .*nowhere does not exist; create it first or choose another --db path/ });
  assert.equal(existsSync(join(dir, 'nowhere')), false);
});

test('a file that is not a converge database is refused by run and status, and left byte for byte as it was', (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'good.yaml', GOOD);
  writeFileSync(join(dir, 'notes.db'), 'these are my notes, not a database\n');
  // Another program's SQLite file, in rollback-journal mode: opening it for writing must not
  // switch it to WAL (that rewrites its header) before refusing it.
  const foreign = new Database(join(dir, 'other.db'));
  foreign.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
  foreign.close();
  for (const file of ['notes.db', 'other.db']) {
    const hash = fileHash(join(dir, file));
    const want = file === 'notes.db' ? { error: 'store.notDatabase', message: /is not a converge database \(not a SQLite file\); check the path/ } : { error: 'store.notConverge', message: /is a SQLite database but not a converge one/ };
    assertRefused(dir, ['run', 'good.yaml', '--db', file], { code: 3, ...want });
    assertRefused(dir, ['status', file], { code: 3, ...want });
    assert.equal(fileHash(join(dir, file)), hash, `${file} is unchanged`);
    assert.equal(existsSync(join(dir, `${file}-wal`)), false);
  }
});

test('a database of a newer schema version is refused with store.schemaTooNew and left unchanged', (t) => {
  const { dir, db } = withRealDb(t);
  const w = new Database(db);
  w.pragma('journal_mode = DELETE');
  w.prepare(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`).run();
  w.close();
  const hash = fileHash(db);
  const message = /was written by a newer converge \(schema version 99; this one knows up to \d+\); upgrade converge to read it/;
  assertRefused(dir, ['run', 'good.yaml', '--db', 'good.db'], { code: 3, error: 'store.schemaTooNew', message });
  assertRefused(dir, ['status', 'good.db'], { code: 3, error: 'store.schemaTooNew', message });
  assertRefused(dir, ['report', 'good.db'], { code: 3, error: 'store.schemaTooNew', message });
  assert.equal(fileHash(db), hash);
});

test('a corrupted database file is refused by run with store.corrupt and never reported as an unexpected error', (t) => {
  const { dir, db } = withRealDb(t);
  const size = statSync(db).size;
  assert.ok(size >= 4 * 4096, 'the database has pages to damage');
  const page = Math.floor(size / 4096 / 2) * 4096;
  const fd = openSync(db, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, page);
  closeSync(fd);
  const hash = fileHash(db);
  assertRefused(dir, ['run', 'good.yaml', '--db', 'good.db'], {
    code: 3,
    error: 'store.corrupt',
    message: /good\.db: the database file is corrupted \(.*\); restore it from a copy, or start a new one with --db/,
  });
  assert.equal(fileHash(db), hash, 'run refused before writing');
  // A reader meets the damage only if it reads that page; when it does, it says so in one line.
  for (const args of [['status', 'good.db'], ['report', 'good.db'], ['query', 'good.db', '--sql', 'select count(*), sum(loss) from epochs']]) {
    const r = convergeSync(dir, args);
    if (r.code === 0) continue;
    assert.equal(r.code, 3, r.stderr);
    assert.match(oneLine(r.stderr), /good\.db: the database file is corrupted .*\[store\.corrupt\]$/);
  }
  assert.equal(fileHash(db), hash);
});

test('a spec given where a database is expected, and a database given where a spec is expected, are named as such', (t) => {
  const { dir, db } = withRealDb(t);
  const specHash = fileHash(join(dir, 'good.yaml'));
  const dbHash = fileHash(db);
  const isSpec = { code: 3, error: 'store.isSpec', message: /good\.yaml: looks like a sweep spec, not a database; give the database/ };
  assertRefused(dir, ['status', 'good.yaml'], isSpec);
  assertRefused(dir, ['report', 'good.yaml'], isSpec);
  assertRefused(dir, ['run', 'good.yaml', '--db', 'good.yaml'], isSpec);
  assertRefused(dir, ['run', 'good.db'], { code: 2, error: 'spec.isDatabase', message: /good\.db: is a SQLite database, not a sweep spec; give the sweep's \.yaml file here/ });
  assert.equal(fileHash(join(dir, 'good.yaml')), specHash);
  assert.equal(fileHash(db), dbHash);
});

test('a database that holds another sweep is refused by run with store.otherSweep and left unchanged', (t) => {
  const { dir, db } = withRealDb(t);
  writeSpec(dir, 'other.yaml', GOOD.replace('name: good', 'name: other'));
  const hash = fileHash(db);
  assertRefused(dir, ['run', 'other.yaml', '--db', 'good.db'], { code: 2, error: 'store.otherSweep', message: /good\.db: holds sweep "good", not "other"; use --db to choose another database/ });
  assert.equal(fileHash(db), hash);
});
