/**
 * Engine benchmark: seconds per epoch of the fused engine vs tfjs-layers on the seed cells.
 * Run with `npm run bench` (add `--json` for one JSON object per case and engine per line).
 *
 * - fused: the real engine (fusedEngine.train: data, init, epoch loop, validation), several
 *   epochs, median epoch after the first (the first includes JIT warm-up).
 * - tfjs: a full epoch takes minutes (seed-experiment.md: ~40 s at L=200 batch 1, ~2.5 min at
 *   L=2000), so it is timed on a fixed number of batches after one warm-up batch and
 *   extrapolated: per-batch time × batches per epoch + one timed validation pass. tfjs computes
 *   every timestep of every row (masking only selects results), so its batch cost does not
 *   depend on which rows are drawn and the extrapolation is fair.
 * - µs per timestep: fused training time (forward + backward + Adam) over the unmasked
 *   row-timesteps it processed, measured on the trainer directly.
 * - peak RSS of case 3: a fused run in a child process (this file with --rss-child), so the
 *   number is that run's alone, with no TF.js loaded.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { makeDataset } from '../src/data/sequences';
import { seedRequest } from '../src/sweep/request';
import type { EpochMetrics, TrainRequest } from '../src/train/contract';
import { createFusedTrainer, fusedEngine } from '../src/train/fused';
import { batchesOf, epochOrder, initWeights } from '../src/train/init';
import { createTfjsTrainer, loadTf } from '../src/train/tfjs';
import { benchKernels, benchPopulation, KERNEL_CASES, kernelLine, kernelRecords, SHARED_CASES } from './kernels';

interface BenchCase {
  name: string;
  seqLen: number;
  nSamples: number;
  batchSize: number;
  /** Fused epochs to run (the first is dropped as warm-up). */
  fusedEpochs: number;
  /** tfjs batches to time after one warm-up batch. */
  tfjsBatches: number;
}

const CASES: BenchCase[] = [
  { name: 'L200_N130_b1', seqLen: 200, nSamples: 130, batchSize: 1, fusedEpochs: 6, tfjsBatches: 8 },
  { name: 'L200_N130_b32', seqLen: 200, nSamples: 130, batchSize: 32, fusedEpochs: 6, tfjsBatches: 2 },
  { name: 'L2000_N50_b1', seqLen: 2000, nSamples: 50, batchSize: 1, fusedEpochs: 4, tfjsBatches: 3 },
];

const SEED = 1;

function benchRequest(c: BenchCase, engine: 'fused' | 'tfjs', epochs: number): TrainRequest {
  // The seed answer's model: the spec defaults (seed-experiment.md).
  return seedRequest({ engine, seqLen: c.seqLen, nSamples: c.nSamples, seed: SEED, train: { epochs, batchSize: c.batchSize } });
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface FusedResult {
  secondsPerEpoch: number;
  /** CPU seconds (user + system) per epoch: robust to other processes sharing the cores. */
  cpuSecondsPerEpoch: number;
  epochsMeasured: number;
  usPerTimestep: number;
}

async function benchFused(c: BenchCase): Promise<FusedResult> {
  const epochs: EpochMetrics[] = [];
  const cpu: number[] = [];
  let c0 = process.cpuUsage();
  await fusedEngine.train(benchRequest(c, 'fused', c.fusedEpochs), {
    onEpoch: (m) => {
      epochs.push(m);
      cpu.push(cpuSeconds(c0));
      c0 = process.cpuUsage();
    },
  });
  const timed = epochs.slice(1).map((e) => e.seconds);

  // Training alone, per unmasked row-timestep (masked steps cost almost nothing by design).
  const req = benchRequest(c, 'fused', 1);
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const trainer = createFusedTrainer(req, data, initWeights(req.model, 1, req.seed));
  let steps = 0;
  for (let r = 0; r < data.nTrain; r++) steps += c.seqLen - data.rowsDrawn[r]!;
  const reps = 3;
  let best = Infinity;
  for (let rep = 1; rep <= reps; rep++) {
    // CPU time, so a busy machine does not inflate the per-step cost.
    const t0 = process.cpuUsage();
    for (const rows of batchesOf(epochOrder(data.nTrain, rep, req.seed, true), c.batchSize)) trainer.trainBatch(rows);
    best = Math.min(best, cpuSeconds(t0));
  }
  trainer.dispose();
  return {
    secondsPerEpoch: median(timed),
    cpuSecondsPerEpoch: median(cpu.slice(1)),
    epochsMeasured: timed.length,
    usPerTimestep: (best / steps) * 1e6,
  };
}

interface TfjsResult {
  secondsPerEpoch: number;
  cpuSecondsPerEpoch: number;
  batchesMeasured: number;
  batchesPerEpoch: number;
  secondsPerBatch: number;
  validationSeconds: number;
  backend: string;
}

async function benchTfjs(c: BenchCase): Promise<TfjsResult> {
  const { tf, backend } = await loadTf();
  const req = benchRequest(c, 'tfjs', 1);
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const trainer = createTfjsTrainer(tf, backend, req, data, initWeights(req.model, 1, req.seed));
  try {
    const batches = batchesOf(epochOrder(data.nTrain, 1, req.seed, true), c.batchSize);
    const n = Math.min(c.tfjsBatches, batches.length - 1);
    trainer.trainBatch(batches[0]!);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 1; i <= n; i++) trainer.trainBatch(batches[i]!);
    const secondsPerBatch = (performance.now() - t0) / 1000 / n;
    const cpuPerBatch = cpuSeconds(c0) / n;
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    trainer.evaluate(data.testX, data.testY, data.nTest);
    const validationSeconds = (performance.now() - t1) / 1000;
    const validationCpu = cpuSeconds(c1);
    return {
      secondsPerEpoch: secondsPerBatch * batches.length + validationSeconds,
      cpuSecondsPerEpoch: cpuPerBatch * batches.length + validationCpu,
      batchesMeasured: n,
      batchesPerEpoch: batches.length,
      secondsPerBatch,
      validationSeconds,
      backend,
    };
  } finally {
    trainer.dispose();
  }
}

interface RssResult {
  peakRssMb: number;
  secondsPerEpoch: number;
  epochs: number;
}

/** Runs a fused training of `c` in a fresh child process and returns its peak RSS. */
function fusedPeakRss(c: BenchCase): Promise<RssResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--rss-child', c.name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: RssResult | undefined;
    child.on('message', (m) => {
      result = m as RssResult;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`RSS child for ${c.name} exited with code ${code}`));
    });
  });
}

async function rssChild(caseName: string): Promise<void> {
  const c = CASES.find((k) => k.name === caseName);
  if (!c) throw new Error(`unknown case ${caseName}`);
  const epochs: EpochMetrics[] = [];
  await fusedEngine.train(benchRequest(c, 'fused', c.fusedEpochs), { onEpoch: (m) => epochs.push(m) });
  // maxRSS is in kilobytes (libuv uv_getrusage, Linux ru_maxrss).
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const result: RssResult = { peakRssMb, secondsPerEpoch: median(epochs.slice(1).map((e) => e.seconds)), epochs: epochs.length };
  process.send!(result);
}

function fmt(x: number, digits = 3): string {
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(digits);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--rss-child') return rssChild(args[1] ?? '');
  const json = args.includes('--json');
  const log = (s: string): void => {
    if (!json) console.log(s);
  };

  const load = loadavg()[0]!;
  log('converge engine benchmark: the seed cell (LSTM(10), masking, relu, Adam), seed 1, one core');
  log(`load average (1 min) at start: ${load.toFixed(2)}; wall times grow on a busy machine, CPU times much less`);
  log('fused: median of full epochs (train + validation) after one warm-up epoch');
  log('tfjs: timed on a few batches after one warm-up batch, EXTRAPOLATED to a full epoch (+ one validation pass)\n');

  const tfjsByShape = new Map<string, number>();
  for (const c of CASES) {
    const fused = await benchFused(c);
    const tfjs = await benchTfjs(c);
    // CPU seconds: the kernel cases are timed in CPU time.
    tfjsByShape.set(`${c.seqLen}/${c.nSamples}/${c.batchSize}`, tfjs.cpuSecondsPerEpoch);
    const rss = c.seqLen === 2000 ? await fusedPeakRss(c) : undefined;
    const ratio = tfjs.secondsPerEpoch / fused.secondsPerEpoch;
    const caseInfo = { seq_len: c.seqLen, n_samples: c.nSamples, batch_size: c.batchSize };
    if (json) {
      console.log(
        JSON.stringify({
          case: c.name,
          engine: 'fused',
          seconds_per_epoch: fused.secondsPerEpoch,
          ratio_vs_tfjs: ratio,
          ...caseInfo,
          cpu_seconds_per_epoch: fused.cpuSecondsPerEpoch,
          cpu_ratio_vs_tfjs: tfjs.cpuSecondsPerEpoch / fused.cpuSecondsPerEpoch,
          load_avg_1m: load,
          epochs_measured: fused.epochsMeasured,
          us_per_timestep: fused.usPerTimestep,
          ...(rss ? { peak_rss_mb: rss.peakRssMb } : {}),
        }),
      );
      console.log(
        JSON.stringify({
          case: c.name,
          engine: 'tfjs',
          seconds_per_epoch: tfjs.secondsPerEpoch,
          ratio_vs_tfjs: 1,
          ...caseInfo,
          cpu_seconds_per_epoch: tfjs.cpuSecondsPerEpoch,
          load_avg_1m: load,
          backend: tfjs.backend,
          extrapolated: true,
          batches_measured: tfjs.batchesMeasured,
          batches_per_epoch: tfjs.batchesPerEpoch,
          seconds_per_batch: tfjs.secondsPerBatch,
          validation_seconds: tfjs.validationSeconds,
        }),
      );
      continue;
    }
    log(`${c.name} (L=${c.seqLen}, N=${c.nSamples}, batch ${c.batchSize})`);
    log(`  fused      ${fmt(fused.secondsPerEpoch)} s/epoch, ${fmt(fused.cpuSecondsPerEpoch)} CPU s  (median of ${fused.epochsMeasured} epochs; ${fused.usPerTimestep.toFixed(2)} µs per unmasked timestep, forward + backward + Adam)`);
    log(
      `  tfjs ${tfjs.backend.padEnd(5)} ${fmt(tfjs.secondsPerEpoch)} s/epoch, ${fmt(tfjs.cpuSecondsPerEpoch)} CPU s  (extrapolated from ${tfjs.batchesMeasured} of ${tfjs.batchesPerEpoch} batches at ${fmt(tfjs.secondsPerBatch)} s/batch + ${fmt(tfjs.validationSeconds)} s validation)`,
    );
    log(`  ratio      ${ratio.toFixed(0)}× faster (wall), ${(tfjs.cpuSecondsPerEpoch / fused.cpuSecondsPerEpoch).toFixed(0)}× (CPU)`);
    if (rss) log(`  fused peak RSS of a ${rss.epochs}-epoch run in a fresh process: ${rss.peakRssMb.toFixed(1)} MB (${fmt(rss.secondsPerEpoch)} s/epoch there)`);
    log('');
  }

  await benchKernelCases(json, log, tfjsByShape);

  // The sweep through the real CLI (pool + SQLite + progress), 1 vs 2 workers, and the peak RSS
  // of a real `converge run` process training L=2000, N=50 (main thread + its worker: an upper
  // bound on the worker's own RSS).
  const sweep = await benchSweep();
  const rssRun = await benchRunRss();
  if (json) {
    console.log(JSON.stringify({ case: 'sweep16', engine: 'fused', workers: 1, wall_seconds: sweep.one, seconds_per_epoch: null, ratio_vs_tfjs: null }));
    console.log(JSON.stringify({ case: 'sweep16', engine: 'fused', workers: 2, wall_seconds: sweep.two, speedup_vs_1_worker: sweep.one / sweep.two, seconds_per_epoch: null, ratio_vs_tfjs: null }));
    console.log(JSON.stringify({ case: 'run_rss_L2000_N50', engine: 'fused', peak_rss_mb: rssRun, seconds_per_epoch: null, ratio_vs_tfjs: null }));
  } else {
    log(`16-run sweep (L=200, N=130, batch 1, 50 epochs each) through \`converge run\` (median of 3 alternating trials each): 1 worker ${sweep.one.toFixed(2)} s, 2 workers ${sweep.two.toFixed(2)} s: ${(sweep.one / sweep.two).toFixed(2)}× faster`);
    log(`peak RSS of a \`converge run --workers 1\` process training L=2000, N=50 (5 epochs): ${rssRun.toFixed(1)} MB (main thread + worker)`);
  }
}

/** Batch 1, WebAssembly SIMD vs JS kernel, side by side (bench/kernels.ts). */
async function benchKernelCases(json: boolean, log: (s: string) => void, tfjsByShape: Map<string, number>): Promise<void> {
  log('batch 1, fused kernels side by side: CPU-time medians of interleaved epochs, seed 1 (alive at init)');
  for (const c of KERNEL_CASES) {
    const r = benchKernels(c);
    if (json) for (const o of kernelRecords(r, tfjsByShape.get(`${c.seqLen}/${c.nSamples}/1`))) console.log(JSON.stringify(o));
    else log(`  ${kernelLine(r)}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  log('batch 32, shared-trajectory wasm kernel vs per-row JS kernel, side by side');
  for (const c of SHARED_CASES) {
    const r = benchKernels(c, 'shared');
    if (json) for (const o of kernelRecords(r, tfjsByShape.get(`${c.seqLen}/${c.nSamples}/32`))) console.log(JSON.stringify(o));
    else log(`  ${kernelLine(r)}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  log('population evaluation (all L+1 rows): one shared wasm pass vs per-row JS');
  for (const [L, reps] of [[200, 5], [2000, 1]] as const) {
    const p = benchPopulation(L, reps);
    const ratio = p.perRowJs / p.sharedWasm;
    if (json) {
      const base = { case: `population_L${L}_kernels`, engine: 'fused', seq_len: L, ratio_vs_tfjs: null, timing: 'cpu_median_interleaved' };
      console.log(JSON.stringify({ ...base, kernel: 'js', seconds_per_epoch: null, seconds_per_evaluation: p.perRowJs, ratio_vs_js_per_row: 1 }));
      console.log(JSON.stringify({ ...base, kernel: 'wasm-simd-shared', seconds_per_epoch: null, seconds_per_evaluation: p.sharedWasm, ratio_vs_js_per_row: ratio }));
    } else log(`  L=${L}: per-row JS ${p.perRowJs.toFixed(4)} s, shared wasm ${p.sharedWasm.toExponential(2)} s: ${ratio.toFixed(0)}×`);
  }
  log('');
}

const CLI = join(__dirname, '..', 'src', 'cli', 'main.js');

/** Run `converge` to completion; resolves wall seconds and the peak VmHWM (Linux /proc) seen. */
function timedCli(args: string[]): Promise<{ seconds: number; peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    let peak = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        /* process already gone */
      }
    }, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`converge ${args.join(' ')} exited ${code}`));
      else resolve({ seconds: (performance.now() - t0) / 1000, peakRssMb: peak });
    });
  });
}

async function benchSweep(): Promise<{ one: number; two: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const spec = join(dir, 'sweep16.yaml');
  writeFileSync(spec, 'name: sweep16\nseed: 1\nrepeats: 16\ndata: {seq_len: 200, n_samples: 130}\ntrain: {epochs: 50, batch_size: 1}\n');
  // Alternate 1 and 2 workers three times and take medians: one pair is at the mercy of
  // whatever else the machine does for those few seconds.
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < 3; i++) {
    one.push((await timedCli(['run', spec, '--db', join(dir, `w1-${i}.db`), '--workers', '1', '--quiet'])).seconds);
    two.push((await timedCli(['run', spec, '--db', join(dir, `w2-${i}.db`), '--workers', '2', '--quiet'])).seconds);
  }
  return { one: median(one), two: median(two) };
}

async function benchRunRss(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const spec = join(dir, 'rss.yaml');
  writeFileSync(spec, 'name: rss\nseed: 1\ndata: {seq_len: 2000, n_samples: 50}\ntrain: {epochs: 5, batch_size: 1}\n');
  return (await timedCli(['run', spec, '--db', join(dir, 'rss.db'), '--workers', '1', '--quiet'])).peakRssMb;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
