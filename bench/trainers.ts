/**
 * What a user trainer costs beyond its own work (issue 18), and whether the generic metric
 * storage slowed the built-in engine:
 * - command: a sweep of a command that does nothing (`true`), through `converge run` on one
 *   worker, against spawning the same program directly, per run; the sweep sizes are two, so the
 *   start-up of converge cancels out (the marginal time of one more run);
 * - module: the time a module's `ctx.report()` call takes in the worker, measured by the module
 *   itself (a loop of reports against the same loop without them);
 * - built-in: the answer-cases grid at 10 repeats (200 runs), through this build and through a
 *   build of the release before (`--before DIR`, a checkout with `npm run build` done),
 *   alternated, wall time on 2 workers.
 * Side by side in one process run; ratios and differences, not absolute seconds, are the figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export interface TrainerBenchOutput {
  log(line: string): void;
  emit(row: Record<string, unknown> & { case: string }): void;
}

function wall(cli: string, args: string[], cwd: string): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 || code === 1 ? res((performance.now() - t0) / 1000) : rej(new Error(`converge ${args.join(' ')} exited ${code}: ${err.slice(-500)}`))));
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function commandSpec(runs: number, program: string): string {
  return `name: noop${runs}\nseed: 1\nrepeats: ${runs}\ntrainer: {command: [${JSON.stringify(program)}]}\nconverged: {metric: loss, below: 0.1}\n`;
}

/** Per run: `converge run` of a do-nothing command (marginal over sweep size) minus spawning it directly. */
async function benchCommand(cli: string, o: TrainerBenchOutput): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-cmd-'));
  // The coreutils binary, not the shell builtin `command -v true` names.
  const program = existsSync('/usr/bin/true') ? '/usr/bin/true' : '/bin/true';
  const small = 20;
  const big = 120;
  writeFileSync(join(dir, 'small.yaml'), commandSpec(small, program));
  writeFileSync(join(dir, 'big.yaml'), commandSpec(big, program));
  const marginal: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 3; i++) {
    const a = await wall(cli, ['run', 'small.yaml', '--db', `small-${i}.db`, '--workers', '1', '--quiet', '--breaker', '0'], dir);
    const b = await wall(cli, ['run', 'big.yaml', '--db', `big-${i}.db`, '--workers', '1', '--quiet', '--breaker', '0'], dir);
    marginal.push((b - a) / (big - small));
    const t0 = performance.now();
    for (let k = 0; k < big - small; k++) spawnSync(program, [], { stdio: 'ignore' });
    direct.push((performance.now() - t0) / 1000 / (big - small));
  }
  const m = median(marginal);
  const d = median(direct);
  o.emit({ case: 'command_trainer_overhead', engine: 'command', runs: big - small, seconds_per_run_converge: m, seconds_per_run_direct: d, overhead_ms_per_run: (m - d) * 1000 });
  o.log(`  a do-nothing command (${program}): ${(m * 1000).toFixed(1)} ms per run through converge, ${(d * 1000).toFixed(1)} ms spawned directly: ${((m - d) * 1000).toFixed(1)} ms overhead per run (medians of 3)`);
}

const REPORT_MODULE = `
export const params = { epochs: { type: 'integer', default: 20000 }, report: { type: 'boolean', default: true } };
export const metrics = { loss: 'below' };
// Times its own loop: with report() once per epoch, and the same loop calling a no-op instead.
export async function train(p, ctx) {
  const noop = () => {};
  const call = p.report ? (e, m) => ctx.report(e, m) : noop;
  const t0 = performance.now();
  for (let e = 1; e < p.epochs; e++) call(e, { loss: 1 / e });
  const us = ((performance.now() - t0) * 1000) / (p.epochs - 1);
  ctx.report(p.epochs, { loss: 0, us_per_epoch: us });
}
`;

/** µs per ctx.report() in the worker: the module's own loop timing, with and without reporting. */
async function benchModule(cli: string, o: TrainerBenchOutput): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-mod-'));
  writeFileSync(join(dir, 'report.mjs'), REPORT_MODULE);
  writeFileSync(join(dir, 'report.yaml'), `name: report\nseed: 1\nrepeats: 1\ntrainer: {module: ./report.mjs}\ngrid: {report: [true, false]}\nconverged: {metric: loss, below: 0.1}\n`);
  const withReport: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 3; i++) {
    const db = join(dir, `r-${i}.db`);
    await wall(cli, ['run', 'report.yaml', '--db', db, '--workers', '1', '--quiet'], dir);
    const d = new Database(db, { readonly: true });
    const rows = d.prepare(`SELECT json_extract(r.params_json, '$.report') AS report, m.value AS us FROM runs r JOIN epoch_metrics m ON m.run_id = r.id AND m.name = 'us_per_epoch'`).all() as { report: number; us: number }[];
    d.close();
    for (const r of rows) (r.report ? withReport : without).push(r.us);
  }
  const a = median(withReport);
  const b = median(without);
  o.emit({ case: 'module_report_cost', engine: 'module', epochs: 20000, us_per_epoch_with_report: a, us_per_epoch_without: b, us_per_report: a - b });
  o.log(`  ctx.report() in the worker: ${(a - b).toFixed(2)} µs per call (loop of 20,000 epochs: ${a.toFixed(2)} µs per epoch with it, ${b.toFixed(2)} without; medians of 3)`);
}

/** The built-in answer-cases grid (200 runs, 2 workers) through this build and the release before, alternated. */
async function benchBuiltIn(cli: string, before: string | undefined, o: TrainerBenchOutput): Promise<void> {
  if (!before) {
    o.log('  built-in grid against the release before: skipped (pass --before DIR, a checkout of that release with `npm run build` done)');
    return;
  }
  const beforeCli = resolve(before, 'dist/src/cli/main.js');
  const spec = resolve(__dirname, '..', '..', 'sweeps', 'answer-cases.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-builtin-'));
  const now: number[] = [];
  const old: number[] = [];
  for (let i = 0; i < 2; i++) {
    const args = (tag: string) => ['run', spec, '--set', 'repeats=10', '--db', join(dir, `${tag}-${i}.db`), '--workers', '2', '--quiet'];
    old.push(await wall(beforeCli, args('before'), dir));
    now.push(await wall(cli, args('now'), dir));
  }
  const a = median(now);
  const b = median(old);
  o.emit({ case: 'builtin_grid_vs_before', engine: 'fused', runs: 200, wall_seconds_now: a, wall_seconds_before: b, ratio_now_vs_before: a / b });
  o.log(`  answer-cases at 10 repeats (200 runs, 2 workers): ${a.toFixed(1)} s now, ${b.toFixed(1)} s with the release before: ${(a / b).toFixed(3)}× (medians of 2, alternated)`);
}

export async function benchTrainers(cli: string, argv: readonly string[], o: TrainerBenchOutput): Promise<void> {
  const at = argv.indexOf('--before');
  const before = at >= 0 ? argv[at + 1] : undefined;
  await benchCommand(cli, o);
  await benchModule(cli, o);
  await benchBuiltIn(cli, before, o);
}
