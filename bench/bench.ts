/**
 * Engine benchmark. `npm run bench` prints a report; `npm run bench -- --json` one JSON object per
 * line (each has `case`, `engine`, `kernel`, `seconds_per_epoch`, `ratio_vs_tfjs`,
 * `ratio_vs_js_per_row`; null where a field does not apply). `--sweep` adds the whole
 * sweeps/answer-cases.yaml (200 runs) on 2 workers, and the 100,000-run scale check: long.
 * `--only a,b` runs only those sections (names in SECTIONS below), e.g. `--only scale`.
 *
 * Method (issue 11):
 * - Every figure is timed on whole epochs (train + validation + population metrics, as the epoch
 *   loop in src/train/loop.ts runs them) of runs ALIVE at initialisation: a run whose ReLU output
 *   is dead from the start gets zero gradients, skips the backward pass and would look twice as
 *   fast. `aliveSeed` picks, per case, the first seed whose trainer says it is alive.
 * - Variants of one case (per-row vs shared batches, kernels) run side by side in one process,
 *   interleaved epoch by epoch (A, B, A, B, …) after one warm-up epoch each, and are compared on
 *   medians of CPU time (user + system of this process): other processes on a busy machine
 *   inflate wall time far more than CPU time. Ratios are the robust output; absolute seconds
 *   need a quiet machine.
 * - tfjs: one full epoch is timed, and also extrapolated from a few batches (after a warm-up
 *   batch); the output says whether the extrapolation is within 10 % of the full epoch.
 *   Ratios against tfjs use the full epoch.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDataset, populationTargets, type Dataset } from '../src/data/sequences';
import { fusedEpochSteps, JS_KERNEL_COST, WASM_KERNEL_COST, runCost, type KernelCost, type CostParams as RunCostParams, TFJS_US_PER_BATCH_STEP, TFJS_US_PER_ROW_STEP, type CostParams } from '../src/grid/cost';
import { readRuns, withReadOnlyDb } from '../src/store';
import { seedRequest } from '../src/sweep/request';
import type { EpochMetrics, Trainer, TrainRequest } from '../src/train/contract';
import { chooseKernel, createFusedTrainer, fusedEngine, jsKernel, type BatchPath, type KernelChoice } from '../src/train/fused';
import { FusedNet } from '../src/train/fused/forward';
import { populationOutputs, populationOutputsPerRow } from '../src/train/fused/population';
import { setWeights } from '../src/train/fused/trainer';
import { batchesOf, epochOrder, initWeights } from '../src/train/init';
import { aliveAtInit, populationMetrics } from '../src/train/population';
import { createTfjsTrainer, loadTf } from '../src/train/tfjs';
import { benchKernels, benchPopulation as benchWasmPopulation, KERNEL_CASES, kernelLine, kernelRecords } from './kernels';
import { benchSearch } from './search';
import { benchWriteLocks, lockBenchLines } from './locks';
import { benchTrainers } from './trainers';

// ---------------------------------------------------------------------------------------------
// Output: one JSON object per line with --json, text otherwise.

type Row = Record<string, unknown> & {
  case: string;
  engine: string;
  kernel: string | null;
  seconds_per_epoch: number | null;
  ratio_vs_tfjs: number | null;
  ratio_vs_js_per_row: number | null;
};

const JSON_OUT = process.argv.includes('--json');
const rows: Row[] = [];
function emit(r: Row): void {
  rows.push(r);
  if (JSON_OUT) console.log(JSON.stringify(r));
}
function log(s: string): void {
  if (!JSON_OUT) console.log(s);
}
/** bench/kernels.ts's records carry the Row fields. */
function emitKernel(o: object): void {
  emit(o as Row);
}

// ---------------------------------------------------------------------------------------------
// Timing helpers.

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(x: number, digits = 3): string {
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(digits);
}

interface Cell {
  seqLen: number;
  nSamples: number;
  batchSize: number;
}

function cellName(c: Cell): string {
  return `L${c.seqLen}_N${c.nSamples}_b${c.batchSize}`;
}

function request(c: Cell, seed: number, engine: 'fused' | 'tfjs' = 'fused', epochs = 1): TrainRequest {
  // The seed answer's model: the spec defaults (seed-experiment.md).
  return seedRequest({ engine, seqLen: c.seqLen, nSamples: c.nSamples, seed, train: { epochs, batchSize: c.batchSize } });
}

function costParams(req: TrainRequest, epochs = 1): CostParams {
  return {
    engine: req.engine,
    seq_len: req.seqLen,
    n_samples: req.nSamples,
    test_fraction: req.testFraction,
    epochs,
    batch_size: req.train.batchSize,
    masking: req.model.masking,
  };
}

const aliveSeeds = new Map<string, number>();
/** The first seed ≥ 1 whose run is alive at initialisation (asked of the fused trainer). */
function aliveSeed(c: Cell): number {
  const key = `${c.seqLen}/${c.nSamples}`;
  const known = aliveSeeds.get(key);
  if (known !== undefined) return known;
  for (let seed = 1; seed < 1000; seed++) {
    const req = request(c, seed);
    const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, seed);
    const trainer = createFusedTrainer(req, data, initWeights(req.model, 1, seed));
    if (aliveAtInit(trainer.predictPopulation(), data, req.model.outputActivation === 'relu')) {
      aliveSeeds.set(key, seed);
      return seed;
    }
  }
  throw new Error(`no seed below 1000 is alive at initialisation for ${key}`);
}

/** CPU seconds of the parts of one whole epoch, exactly as src/train/loop.ts runs it. */
interface EpochTime {
  train: number;
  validation: number;
  population: number;
  total: number;
}

function timeEpoch(trainer: Trainer, data: Dataset, req: TrainRequest, epoch: number, targets: Float64Array): EpochTime {
  const c0 = process.cpuUsage();
  for (const rows of batchesOf(epochOrder(data.nTrain, epoch, req.seed, req.train.shuffle), req.train.batchSize)) trainer.trainBatch(rows);
  const train = cpuSeconds(c0);
  const c1 = process.cpuUsage();
  trainer.evaluate(data.testX, data.testY, data.nTest);
  const validation = cpuSeconds(c1);
  const c2 = process.cpuUsage();
  populationMetrics(trainer.predictPopulation(), data, targets);
  const population = cpuSeconds(c2);
  return { train, validation, population, total: train + validation + population };
}

interface Variant {
  engine: 'fused' | 'tfjs';
  kernel: string;
  path: BatchPath;
  make(req: TrainRequest, data: Dataset): Trainer;
}

/** The fused variants every path comparison runs (the wasm kernel adds its own here). */
const FUSED_VARIANTS: Variant[] = [
  { engine: 'fused', kernel: 'js', path: 'per-row', make: (req, data) => createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: { kernel: jsKernel }, batchPath: 'per-row' }) },
  { engine: 'fused', kernel: 'js', path: 'shared', make: (req, data) => createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: { kernel: jsKernel }, batchPath: 'shared' }) },
  { engine: 'fused', kernel: 'wasm-simd', path: 'per-row', make: (req, data) => createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: wasmChoice(), batchPath: 'per-row' }) },
  { engine: 'fused', kernel: 'wasm-simd', path: 'shared', make: (req, data) => createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: wasmChoice(), batchPath: 'shared' }) },
];

/** The default kernel and path of `converge run` (wasm, shared: the last variant). */
const DEFAULT_VARIANT = FUSED_VARIANTS[FUSED_VARIANTS.length - 1]!;

/** The wasm kernel, or a clear failure: a silent fallback to JS would mislabel every figure. */
function wasmChoice(): KernelChoice {
  const choice = chooseKernel({});
  if (choice.kernel.backend !== 'fused-wasm-simd') throw new Error(`bench: ${choice.notice ?? 'the wasm kernel did not load'}`);
  return choice;
}

/**
 * Whole epochs of each variant, interleaved (epoch e of every variant, then e+1), the first
 * dropped as warm-up; medians of CPU seconds per part.
 */
function interleavedEpochs(c: Cell, variants: Variant[], epochs: number): { seed: number; times: EpochTime[] } {
  const seed = aliveSeed(c);
  const req = request(c, seed);
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, seed);
  const targets = populationTargets(data.seqLen);
  const trainers = variants.map((v) => v.make(req, data));
  const all: EpochTime[][] = variants.map(() => []);
  for (let e = 1; e <= epochs + 1; e++) {
    trainers.forEach((t, i) => {
      const time = timeEpoch(t, data, req, e, targets);
      if (e > 1) all[i]!.push(time);
    });
  }
  trainers.forEach((t) => t.dispose());
  const med = (ts: EpochTime[], k: keyof EpochTime) => median(ts.map((t) => t[k]));
  return { seed, times: all.map((ts) => ({ train: med(ts, 'train'), validation: med(ts, 'validation'), population: med(ts, 'population'), total: med(ts, 'total') })) };
}

// ---------------------------------------------------------------------------------------------
// Sections.

/** tfjs whole-epoch seconds per cell, filled by `tfjs`, read by the sections after it. */
const tfjsEpoch = new Map<string, number>();

/** tfjs: one full epoch timed, and the few-batch extrapolation checked against it. */
async function benchTfjs(c: Cell, batchesToTime: number): Promise<void> {
  const { tf, backend } = await loadTf();
  const seed = aliveSeed(c);
  const req = request(c, seed, 'tfjs');
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, seed);
  const trainer = createTfjsTrainer(tf, backend, req, data, initWeights(req.model, 1, seed));
  try {
    const batches = batchesOf(epochOrder(data.nTrain, 1, seed, true), c.batchSize);
    const n = Math.min(batchesToTime, batches.length - 1);
    const perBatch: number[] = [];
    const wall0 = performance.now();
    for (const b of batches) {
      const c0 = process.cpuUsage();
      trainer.trainBatch(b);
      perBatch.push(cpuSeconds(c0));
    }
    const c1 = process.cpuUsage();
    trainer.evaluate(data.testX, data.testY, data.nTest);
    const validation = cpuSeconds(c1);
    const c2 = process.cpuUsage();
    populationMetrics(trainer.predictPopulation(), data, populationTargets(data.seqLen));
    const population = cpuSeconds(c2);
    const wall = (performance.now() - wall0) / 1000;
    const full = perBatch.reduce((a, b) => a + b, 0) + validation + population;
    // The old method: batches 1..n after warm-up batch 0, times batches per epoch, plus one pass.
    const sampled = perBatch.slice(1, 1 + n);
    const extrapolated = (sampled.reduce((a, b) => a + b, 0) / sampled.length) * batches.length + validation + population;
    const off = extrapolated / full - 1;
    tfjsEpoch.set(cellName(c), full);
    emit({
      case: cellName(c),
      engine: 'tfjs',
      kernel: `tfjs-${backend}`,
      seconds_per_epoch: full,
      ratio_vs_tfjs: 1,
      ratio_vs_js_per_row: null,
      seq_len: c.seqLen,
      n_samples: c.nSamples,
      batch_size: c.batchSize,
      seed,
      cpu_seconds: true,
      wall_seconds_per_epoch: wall,
      validation_seconds: validation,
      population_seconds: population,
      extrapolated_seconds_per_epoch: extrapolated,
      extrapolated_from_batches: sampled.length,
      extrapolation_error: off,
      extrapolation_within_10pct: Math.abs(off) <= 0.1,
    });
    log(
      `  tfjs ${backend}, ${cellName(c)} (seed ${seed}): full epoch ${fmt(full)} CPU s (${fmt(wall)} s wall; validation ${fmt(validation)}, population ${fmt(population)}); ` +
        `extrapolated from ${sampled.length} batches ${fmt(extrapolated)} s: ${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)} %, ${Math.abs(off) <= 0.1 ? 'within' : 'NOT within'} 10 %`,
    );
  } finally {
    trainer.dispose();
  }
}

/**
 * The fused engine as `converge run` trains (fusedEngine.train, default kernel and path), median
 * whole epoch after the first, against the full tfjs epoch of the same cell and seed.
 */
async function benchFusedEngine(c: Cell, epochs: number): Promise<void> {
  const seed = aliveSeed(c);
  const cpu: number[] = [];
  const wall: number[] = [];
  let c0 = process.cpuUsage();
  let backend = '';
  const summary = await fusedEngine.train(request(c, seed, 'fused', epochs), {
    onEpoch: (m: EpochMetrics) => {
      cpu.push(cpuSeconds(c0));
      wall.push(m.seconds);
      c0 = process.cpuUsage();
    },
  });
  backend = summary.backend;
  const perEpoch = median(cpu.slice(1));
  const tfjs = tfjsEpoch.get(cellName(c));
  emit({
    case: cellName(c),
    engine: 'fused',
    kernel: backend,
    seconds_per_epoch: perEpoch,
    ratio_vs_tfjs: tfjs ? tfjs / perEpoch : null,
    ratio_vs_js_per_row: null,
    seq_len: c.seqLen,
    n_samples: c.nSamples,
    batch_size: c.batchSize,
    seed,
    cpu_seconds: true,
    wall_seconds_per_epoch: median(wall.slice(1)),
    epochs_measured: cpu.length - 1,
    alive_at_init: summary.aliveAtInit,
  });
  log(
    `  fused engine (${backend}), ${cellName(c)} (seed ${seed}): ${fmt(perEpoch)} CPU s/epoch (${fmt(median(wall.slice(1)))} s wall), median of ${cpu.length - 1} epochs` +
      (tfjs ? `; vs tfjs full epoch: ${fmt(tfjs / perEpoch)}×` : ''),
  );
}

/** Per-row vs shared batches (and kernels), whole epochs interleaved. */
function benchPaths(c: Cell, epochs: number): void {
  const { seed, times } = interleavedEpochs(c, FUSED_VARIANTS, epochs);
  const ref = times[0]!.total;
  const tfjs = tfjsEpoch.get(cellName(c));
  const req = request(c, seed);
  const modelled = FUSED_VARIANTS.map((v) => runCost(costParams(req), v.kernel === 'js' ? JS_KERNEL_COST : WASM_KERNEL_COST, v.path));
  FUSED_VARIANTS.forEach((v, i) => {
    const t = times[i]!;
    emit({
      case: `paths_${cellName(c)}`,
      engine: v.engine,
      kernel: v.kernel,
      path: v.path,
      seconds_per_epoch: t.total,
      ratio_vs_tfjs: tfjs ? tfjs / t.total : null,
      ratio_vs_js_per_row: ref / t.total,
      seq_len: c.seqLen,
      n_samples: c.nSamples,
      batch_size: c.batchSize,
      seed,
      cpu_seconds: true,
      train_seconds: t.train,
      validation_seconds: t.validation,
      population_seconds: t.population,
      cost_model_seconds: modelled[i],
      epochs_measured: epochs,
    });
    log(
      `  ${v.kernel} ${v.path.padEnd(7)} ${cellName(c)} (seed ${seed}): ${fmt(t.total)} CPU s/epoch (train ${fmt(t.train)}, validation ${fmt(t.validation)}, population ${fmt(t.population)}; ` +
        `cost model ${fmt(modelled[i]!)}): ${fmt(ref / t.total)}× the per-row JS path${tfjs ? `, ${fmt(tfjs / t.total)}× tfjs` : ''}`,
    );
  });
}

/** Population outputs (all L+1 rows): every row on its own vs one shared trajectory. */
function benchPopulation(seqLen: number, nSamples: number): void {
  const c = { seqLen, nSamples, batchSize: 1 };
  const seed = aliveSeed(c);
  const req = request(c, seed);
  const net = new FusedNet({ inputDim: 1, units: req.model.units, seqLen, hardSigmoid: false, masking: true, relu: true });
  setWeights(net, initWeights(req.model, 1, seed));
  const perRow: number[] = [];
  const shared: number[] = [];
  // The shared pass is ~1000× shorter: repeated to rise far above the clock's resolution.
  const reps = Math.max(1, Math.round(200_000 / seqLen));
  populationOutputsPerRow(net);
  populationOutputs(net);
  for (let i = 0; i < 3; i++) {
    let c0 = process.cpuUsage();
    populationOutputsPerRow(net);
    perRow.push(cpuSeconds(c0));
    c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) populationOutputs(net);
    shared.push(cpuSeconds(c0) / reps);
  }
  const a = median(perRow);
  const b = median(shared);
  for (const [path, s] of [['per-row', a], ['shared', b]] as const) {
    emit({ case: `population_L${seqLen}`, engine: 'fused', kernel: 'js', path, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: a / s, seq_len: seqLen, seconds_per_evaluation: s, cpu_seconds: true });
  }
  log(`  population L=${seqLen} (${seqLen + 1} rows): per-row ${fmt(a)} CPU s, shared ${fmt(b)} CPU s: ${fmt(a / b)}×`);
}

/** Population evaluation's share of a whole epoch at L=2000, N=1200, batch 1 (issue 8: < 5 %). */
function benchPopulationShare(): void {
  const c = { seqLen: 2000, nSamples: 1200, batchSize: 1 };
  const { seed, times } = interleavedEpochs(c, [DEFAULT_VARIANT], 2);
  const t = times[0]!;
  emit({
    case: 'population_share_L2000_N1200_b1',
    engine: 'fused',
    kernel: DEFAULT_VARIANT.kernel,
    path: 'shared',
    seconds_per_epoch: t.total,
    ratio_vs_tfjs: null,
    ratio_vs_js_per_row: null,
    seed,
    cpu_seconds: true,
    train_seconds: t.train,
    validation_seconds: t.validation,
    population_seconds: t.population,
    population_fraction: t.population / t.total,
  });
  log(
    `  L=2000, N=1200, batch 1 (seed ${seed}): epoch ${fmt(t.total)} CPU s = train ${fmt(t.train)} + validation ${fmt(t.validation)} + population ${fmt(t.population)} ` +
      `(${((t.population / t.total) * 100).toFixed(3)} % of the epoch; issue 8 requires < 5 %)`,
  );
}

/** µs per trained step and per forward-only step of one kernel (shared path, L=2000, N=1200, batch 32). */
function kernelCalibration(v: Variant): KernelCost {
  const c = { seqLen: 2000, nSamples: 1200, batchSize: 32 };
  const seed = aliveSeed(c);
  const req = request(c, seed);
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, seed);
  const trainer = v.make(req, data);
  const train: number[] = [];
  const fwd: number[] = [];
  for (let e = 1; e <= 4; e++) {
    let steps = 0;
    const batches = batchesOf(epochOrder(data.nTrain, e, seed, true), c.batchSize);
    for (const b of batches) {
      let m = 0;
      for (const r of b) m = Math.max(m, c.seqLen - data.rowsDrawn[r]!);
      steps += m;
    }
    let c0 = process.cpuUsage();
    for (const b of batches) trainer.trainBatch(b);
    const t = cpuSeconds(c0);
    c0 = process.cpuUsage();
    const reps = 20;
    for (let r = 0; r < reps; r++) trainer.predictPopulation();
    const f = cpuSeconds(c0) / reps;
    if (e > 1) {
      train.push((t / steps) * 1e6);
      fwd.push((f / c.seqLen) * 1e6);
    }
  }
  trainer.dispose();
  return { trainUsPerStep: median(train), forwardUsPerStep: median(fwd) };
}

/**
 * µs per timestep of each kernel, for src/grid/cost.ts: CPU time of the training batches over
 * the trajectory steps they ran (forward + backward + Adam), and of forward-only population
 * passes over theirs, on the shared path at batch 32 (where both matter) of L=2000, N=1200.
 */
function benchCalibration(): void {
  for (const v of FUSED_VARIANTS.filter((x) => x.path === 'shared')) {
    const k = kernelCalibration(v);
    const inCost = v.kernel === 'js' ? JS_KERNEL_COST : WASM_KERNEL_COST;
    emit({
      case: 'cost_model_calibration',
      engine: 'fused',
      kernel: v.kernel,
      seconds_per_epoch: null,
      ratio_vs_tfjs: null,
      ratio_vs_js_per_row: null,
      train_us_per_step: k.trainUsPerStep,
      forward_us_per_step: k.forwardUsPerStep,
      in_cost_ts: inCost,
    });
    log(
      `  ${v.kernel} kernel: ${k.trainUsPerStep.toFixed(3)} µs per trained step (forward + backward + Adam), ${k.forwardUsPerStep.toFixed(3)} µs per forward-only step ` +
        `(src/grid/cost.ts has ${inCost.trainUsPerStep} and ${inCost.forwardUsPerStep})`,
    );
  }
  const req = request(BIG_32, 1);
  // tfjs: seconds per epoch = L·(batches·A + rows·B) at batch 1 and batch 32 of the seed cell.
  const t1 = tfjsEpoch.get('L200_N130_b1');
  const t32 = tfjsEpoch.get('L200_N130_b32');
  let tfjsFit: { perBatchStep: number; perRowStep: number } | null = null;
  if (t1 !== undefined && t32 !== undefined) {
    // Batches per epoch, validation and population included (grid/cost.ts counts the same):
    // batch 1: 117 + 13 + 1, batch 32: 4 + 1 + 1; rows: 130 drawn + 201 population.
    const L = 200;
    const [b1, b32, rowsN] = [131, 6, 130 + 201];
    const a = (t1 - t32) / (L * (b1 - b32)) * 1e6;
    const b = (t32 * 1e6) / L / rowsN - (a * b32) / rowsN;
    tfjsFit = { perBatchStep: a, perRowStep: b };
  }
  emit({
    case: 'cost_model_calibration_tfjs',
    engine: 'tfjs',
    kernel: null,
    seconds_per_epoch: null,
    ratio_vs_tfjs: null,
    ratio_vs_js_per_row: null,
    tfjs_fit_us: tfjsFit,
    tfjs_in_cost_ts: { perBatchStep: TFJS_US_PER_BATCH_STEP, perRowStep: TFJS_US_PER_ROW_STEP },
  });
  if (tfjsFit) {
    log(
      `  tfjs fit to its full epochs: ${fmt(tfjsFit.perBatchStep)} µs per batch-step + ${fmt(tfjsFit.perRowStep)} µs per row-step ` +
        `(src/grid/cost.ts has ${TFJS_US_PER_BATCH_STEP} and ${TFJS_US_PER_ROW_STEP})`,
    );
  }
  // Cross-check of the model's step counts on this cell.
  const s = fusedEpochSteps(costParams(req));
  log(`  cost model on L=2000, N=1200, batch 32: ${Math.round(s.train)} trained + ${Math.round(s.forward)} forward-only steps per epoch`);
}

// ---------------------------------------------------------------------------------------------
// Whole sweeps through the real CLI.

const CLI = join(__dirname, '..', 'src', 'cli', 'main.js');

/**
 * Run `converge` to completion; resolves wall seconds, the peak VmHWM and the CPU seconds (user +
 * system, every thread) last seen in Linux /proc, polled every 20 ms.
 */
function timedCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ seconds: number; peakRssMb: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env });
    let peak = 0;
    let cpu = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): utime and stime in clock ticks.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
      } catch {
        /* process already gone */
      }
    }, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`converge ${args.join(' ')} exited ${code}`));
      else resolve({ seconds: (performance.now() - t0) / 1000, peakRssMb: peak, cpuSeconds: cpu });
    });
  });
}

/** USER_HZ: the unit of the CPU times in /proc/PID/stat (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100;

/**
 * 16 runs of mixed lengths, listed shortest first so that plan order would leave the longest
 * run for last; cost-aware claiming (store/runs.ts) starts it first.
 */
const MIXED_SPEC = `name: mixed16
seed: 1
repeats: 4
train: {epochs: 50, batch_size: 1}
cases:
  - {seq_len: 100, n_samples: 80}
  - {seq_len: 200, n_samples: 130}
  - {seq_len: 400, n_samples: 130}
  - {seq_len: 1000, n_samples: 200}
`;

/** Alternating trials of the 2-vs-1 comparisons: the machine's speed drifts by tens of percent within a minute. */
const TRIALS = 5;

/** Makespan of list scheduling: each run, in `order`, goes to the worker free first. */
function makespan(seconds: number[], workers: number): number {
  const free = new Array<number>(workers).fill(0);
  for (const s of seconds) {
    const i = free.indexOf(Math.min(...free));
    free[i] = free[i]! + s;
  }
  return Math.max(...free);
}

/**
 * 1 vs 2 workers, alternating TRIALS times, medians of wall time. Also the schedule alone, free of
 * the machine's load: the 1-worker runs' own seconds list-scheduled on 2 workers in plan order
 * and in the claim order (costliest first): Σ seconds / makespan is the speedup that order allows.
 */
async function benchMixedSweep(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const spec = join(dir, 'mixed16.yaml');
  writeFileSync(spec, MIXED_SPEC);
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    one.push((await timedCli(['run', spec, '--db', join(dir, `w1-${i}.db`), '--workers', '1', '--quiet'])).seconds);
    two.push((await timedCli(['run', spec, '--db', join(dir, `w2-${i}.db`), '--workers', '2', '--quiet'])).seconds);
  }
  const a = median(one);
  const b = median(two);
  // Each run's own seconds (worker time, as the main thread saw it), summed per trial: how much
  // slower the same runs are when two train at once.
  const runSeconds = (file: string) => {
    return withReadOnlyDb(join(dir, file), (db) => readRuns(db).map((r) => ({ id: r.id, seconds: r.seconds ?? 0, cost: runCost(r.params as unknown as RunCostParams) })));
  };
  const sum = (rs: Array<{ seconds: number }>) => rs.reduce((x, r) => x + r.seconds, 0);
  const runs = runSeconds('w1-0.db');
  const total = sum(runs);
  const trialIds = [...Array(TRIALS).keys()];
  const sum1 = median(trialIds.map((i) => sum(runSeconds(`w1-${i}.db`))));
  const sum2 = median(trialIds.map((i) => sum(runSeconds(`w2-${i}.db`))));
  const planOrder = makespan(runs.map((r) => r.seconds), 2);
  const costOrder = makespan([...runs].sort((x, y) => y.cost - x.cost || x.id - y.id).map((r) => r.seconds), 2);
  const schedule = { sum_run_seconds: total, plan_order_speedup: total / planOrder, cost_order_speedup: total / costOrder };
  const machine = await machineCeiling(TRIALS);
  emit({ case: 'sweep16_mixed', engine: 'fused', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, workers: 1, wall_seconds: a, trials: one, median_sum_run_seconds: sum1 });
  emit({
    case: 'sweep16_mixed',
    engine: 'fused',
    kernel: null,
    seconds_per_epoch: null,
    ratio_vs_tfjs: null,
    ratio_vs_js_per_row: null,
    workers: 2,
    wall_seconds: b,
    trials: two,
    speedup_vs_1_worker: a / b,
    schedule,
    median_sum_run_seconds: sum2,
    run_seconds_inflation: sum2 / sum1,
    machine_two_thread_ceiling: machine.ceiling,
    machine_load_seconds: { alone: machine.alone, paired: machine.paired },
  });
  log(`  16 runs of mixed lengths (L = 100…1000, batch 1, 50 epochs), median of ${TRIALS} alternating trials: 1 worker ${fmt(a)} s, 2 workers ${fmt(b)} s: ${(a / b).toFixed(2)}× (target ≥ 1.85×)`);
  log(
    `  the schedule alone (the 1-worker runs' ${fmt(total)} s on 2 workers): plan order would allow ${schedule.plan_order_speedup.toFixed(2)}×, ` +
      `costliest first (the claim order) ${schedule.cost_order_speedup.toFixed(2)}×; with 2 workers the same runs took ${(sum2 / sum1).toFixed(2)}× their 1-worker seconds (medians of the trials' sums)`,
  );
  log(
    `  the machine alone: one fixed fused training (L=1000, N=200, batch 1, 25 epochs) ${fmt(machine.alone)} s wall by itself, ${fmt(machine.paired)} s with a second one beside it ` +
      `(medians of ${TRIALS} alternating trials): two CPU-bound threads here give at most ${machine.ceiling.toFixed(2)}× one thread's throughput`,
  );
}

/** The whole answer-cases grid (20 cells × 10 seeds, 50 epochs) on 2 workers, wall time. */
async function benchAnswerCases(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const spec = join(__dirname, '..', '..', 'sweeps', 'answer-cases.yaml');
  const r = await timedCli(['run', spec, '--set', 'repeats=10', '--db', join(dir, 'answer-cases.db'), '--workers', '2', '--quiet']);
  emit({ case: 'answer_cases_200_runs', engine: 'fused', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, workers: 2, wall_seconds: r.seconds });
  log(`  sweeps/answer-cases.yaml (200 runs, 2 workers): ${fmt(r.seconds)} s wall (${(r.seconds / 60).toFixed(1)} min)`);
}

/** A sweep of `runs` trivial runs (L=9, N=10, 1 epoch): 100 cells (learning rates) × runs/100 seeds. */
function trivialSpec(runs: number): string {
  const rates = Array.from({ length: 100 }, (_, i) => Number((0.001 + 0.0001 * i).toFixed(6)));
  return `name: trivial${runs}\nseed: 1\nrepeats: ${runs / 100}\ndata: {seq_len: 9, n_samples: 10}\ntrain: {epochs: 1}\ngrid:\n  learning_rate: [${rates.join(', ')}]\n`;
}

interface ScaleRun {
  runs: number;
  wall: number;
  cpu: number;
  /** From the first claim to the last finish, as stored (started_at, finished_at). */
  training: number;
  peakRssMb: number;
}

/**
 * One whole `converge run` of a trivial sweep on 2 workers, as an overnight grid runs with its
 * output in a log (per-run lines, not a terminal): the process from start to exit.
 */
async function scaleRun(dir: string, runs: number, tag: string): Promise<ScaleRun> {
  const spec = join(dir, `trivial${runs}.yaml`);
  writeFileSync(spec, trivialSpec(runs));
  const db = join(dir, `trivial${runs}-${tag}.db`);
  const r = await timedCli(['run', spec, '--db', db, '--workers', '2', '--yes']);
  const training = withReadOnlyDb(db, (d) => d.prepare(`SELECT (julianday(max(finished_at)) - julianday(min(started_at))) * 86400 FROM runs`).pluck().get() as number);
  return { runs, wall: r.seconds, cpu: r.cpuSeconds, training, peakRssMb: r.peakRssMb };
}

/**
 * Per-run overhead of `converge run` at 1,000 and 100,000 trivial runs (issue 17: claiming grew
 * with the square of the sweep). The runs do almost nothing, so the time per run is the
 * orchestration's: plan, claim, record, finish, progress, summary. The 1,000-run sweep runs before
 * and after the big one and its median is taken, since the machine's load drifts.
 */
async function benchScale(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const small: ScaleRun[] = [await scaleRun(dir, 1000, 'a')];
  const big = await scaleRun(dir, 100_000, 'a');
  small.push(await scaleRun(dir, 1000, 'b'), await scaleRun(dir, 1000, 'c'));
  const per = (r: ScaleRun, k: 'wall' | 'cpu' | 'training') => (r[k] / r.runs) * 1000;
  const med = (k: 'wall' | 'cpu' | 'training') => median(small.map((r) => per(r, k)));
  const ratio = { wall: per(big, 'wall') / med('wall'), cpu: per(big, 'cpu') / med('cpu'), training: per(big, 'training') / med('training') };
  for (const r of [...small, big]) {
    emit({ case: `scale_${r.runs}_trivial_runs`, engine: 'fused', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, workers: 2, runs: r.runs, wall_seconds: r.wall, cpu_seconds: r.cpu, training_seconds: r.training, ms_per_run_wall: per(r, 'wall'), ms_per_run_cpu: per(r, 'cpu'), ms_per_run_training: per(r, 'training'), peak_rss_mb: r.peakRssMb });
  }
  emit({ case: 'scale_overhead_ratio_100k_vs_1k', engine: 'fused', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, ratio_wall: ratio.wall, ratio_cpu: ratio.cpu, ratio_training: ratio.training, target: 1.5, peak_rss_mb_100k: big.peakRssMb });
  const line = (r: ScaleRun) =>
    `${r.runs} runs: ${fmt(r.wall)} s wall (${per(r, 'wall').toFixed(2)} ms/run), ${fmt(r.cpu)} CPU s (${per(r, 'cpu').toFixed(2)} ms/run), first claim to last finish ${fmt(r.training)} s (${per(r, 'training').toFixed(2)} ms/run), peak RSS ${r.peakRssMb.toFixed(0)} MB`;
  for (const r of small) log(`  ${line(r)}`);
  log(`  ${line(big)}`);
  log(
    `  per-run overhead, 100,000 vs 1,000 runs (median of the three 1,000-run sweeps): ${ratio.wall.toFixed(2)}× wall, ${ratio.cpu.toFixed(2)}× CPU, ` +
      `${ratio.training.toFixed(2)}× first claim to last finish (target ≤ 1.5×); peak RSS of the 100,000-run \`converge run\`: ${big.peakRssMb.toFixed(0)} MB`,
  );
}

interface RssResult {
  peakRssMb: number;
}

/** This file run in a fresh child process with `flag` (--rss-child, --load-child): the message it sends. */
function childResult<T>(flag: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [flag], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: T | undefined;
    child.on('message', (m) => {
      result = m as T;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`bench child ${flag} exited with code ${code}`));
    });
  });
}

/** A fused training of L=2000, N=50 in a fresh child process. */
function fusedPeakRss(): Promise<RssResult> {
  return childResult<RssResult>('--rss-child');
}

/**
 * The machine's own ceiling for 2 workers: the same fixed fused training (an alive L=1000, N=200
 * run, batch 1, 25 epochs, the default kernel) in one child process alone, then in two children at
 * once; wall seconds each. No converge orchestration, no database, no scheduling: only whether
 * two CPU-bound threads run as fast as one on this machine.
 */
async function loadChild(): Promise<number> {
  return (await childResult<{ seconds: number }>('--load-child')).seconds;
}

const LOAD_CELL = { seqLen: 1000, nSamples: 200, batchSize: 1 };

async function loadChildMain(): Promise<void> {
  const req = request(LOAD_CELL, aliveSeed(LOAD_CELL), 'fused', 25);
  const t0 = performance.now();
  await fusedEngine.train(req, { onEpoch: () => undefined });
  process.send!({ seconds: (performance.now() - t0) / 1000 });
}

/** Alone vs in pairs, alternating `trials` times: medians of one child's wall seconds. */
async function machineCeiling(trials: number): Promise<{ alone: number; paired: number; ceiling: number }> {
  const alone: number[] = [];
  const paired: number[] = [];
  for (let i = 0; i < trials; i++) {
    alone.push(await loadChild());
    paired.push(...(await Promise.all([loadChild(), loadChild()])));
  }
  const a = median(alone);
  const p = median(paired);
  return { alone: a, paired: p, ceiling: (2 * a) / p };
}

async function rssChild(): Promise<void> {
  const c = { seqLen: 2000, nSamples: 50, batchSize: 1 };
  await fusedEngine.train(request(c, aliveSeed(c), 'fused', 4), { onEpoch: () => undefined });
  // maxRSS is in kilobytes (libuv uv_getrusage, Linux ru_maxrss).
  process.send!({ peakRssMb: process.resourceUsage().maxRSS / 1024 } satisfies RssResult);
}

async function benchRss(): Promise<void> {
  const bare = await fusedPeakRss();
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const spec = join(dir, 'rss.yaml');
  writeFileSync(spec, 'name: rss\nseed: 1\ndata: {seq_len: 2000, n_samples: 50}\ntrain: {epochs: 5, batch_size: 1}\n');
  const run = (await timedCli(['run', spec, '--db', join(dir, 'rss.db'), '--workers', '1', '--quiet'])).peakRssMb;
  emit({ case: 'rss_L2000_N50', engine: 'fused', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, peak_rss_mb_bare_run: bare.peakRssMb, peak_rss_mb_converge_run: run });
  log(`  peak RSS, L=2000, N=50: a bare fused run ${bare.peakRssMb.toFixed(1)} MB; a \`converge run --workers 1\` process (main thread + worker) ${run.toFixed(1)} MB`);
}

// ---------------------------------------------------------------------------------------------

const SEED_CELL = { seqLen: 200, nSamples: 130, batchSize: 1 };
const SEED_CELL_32 = { seqLen: 200, nSamples: 130, batchSize: 32 };
const ASKER = { seqLen: 2000, nSamples: 50, batchSize: 1 };
const BIG_32 = { seqLen: 2000, nSamples: 1200, batchSize: 32 };

/** Sections in run order; `--only` picks some (tfjs first: later sections report ratios to it). */
const SECTIONS: Array<{ name: string; title: string; optIn?: boolean; run(): Promise<void> | void }> = [
  {
    name: 'tfjs',
    title: 'tfjs reference: a full epoch, and the few-batch extrapolation checked against it',
    async run() {
      await benchTfjs(SEED_CELL, 8);
      await benchTfjs(SEED_CELL_32, 2);
      await benchTfjs(ASKER, 3);
    },
  },
  {
    name: 'engine',
    title: 'fused engine as `converge run` trains it (default kernel), against the full tfjs epoch',
    async run() {
      await benchFusedEngine(SEED_CELL, 6);
      await benchFusedEngine(SEED_CELL_32, 6);
      await benchFusedEngine(ASKER, 4);
    },
  },
  {
    name: 'paths',
    title: 'per-row vs shared batches, whole epochs interleaved, CPU-time medians',
    run() {
      benchPaths(SEED_CELL_32, 5);
      benchPaths(BIG_32, 3);
      benchPaths(SEED_CELL, 5);
      benchPaths({ seqLen: 2000, nSamples: 50, batchSize: 1 }, 5);
    },
  },
  {
    name: 'population',
    title: 'population evaluation (all L+1 rows): per-row vs one shared trajectory',
    run() {
      benchPopulation(200, 130);
      benchPopulation(2000, 1200);
      benchPopulationShare();
    },
  },
  {
    name: 'kernels',
    title: 'batch 1, wasm vs JS kernel per row (training CPU time per unmasked step), and population on the wasm kernel',
    run() {
      for (const c of KERNEL_CASES) {
        const r = benchKernels(c);
        for (const o of kernelRecords(r, tfjsEpoch.get(cellName({ seqLen: c.seqLen, nSamples: c.nSamples, batchSize: 1 })))) emitKernel(o);
        log(`  ${kernelLine(r)}`);
      }
      for (const [L, reps] of [[200, 5], [2000, 1]] as const) {
        const p = benchWasmPopulation(L, reps);
        const base = { case: `population_L${L}_kernels`, engine: 'fused', seq_len: L, ratio_vs_tfjs: null, seconds_per_epoch: null, cpu_seconds: true };
        emitKernel({ ...base, kernel: 'js', path: 'per-row', seconds_per_evaluation: p.perRowJs, ratio_vs_js_per_row: 1 });
        emitKernel({ ...base, kernel: 'wasm-simd', path: 'shared', seconds_per_evaluation: p.sharedWasm, ratio_vs_js_per_row: p.perRowJs / p.sharedWasm });
        log(`  population L=${L}: per-row JS ${fmt(p.perRowJs)} CPU s, shared wasm ${fmt(p.sharedWasm)} CPU s: ${fmt(p.perRowJs / p.sharedWasm)}×`);
      }
    },
  },
  { name: 'calibration', title: 'cost model calibration (src/grid/cost.ts)', run: benchCalibration },
  { name: 'sweep16', title: '2 workers vs 1 through `converge run`', run: benchMixedSweep },
  { name: 'rss', title: 'memory', run: benchRss },
  {
    name: 'locks',
    title: 'write lock: the longest write transaction during a two-runner sweep',
    async run() {
      const r = await benchWriteLocks(CLI);
      const base = { case: 'write_lock_two_runners', engine: 'fused', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null };
      emit({ ...base, runs: r.runs, wall_seconds: r.wallSeconds, longest_write_ms: r.longest.ms, longest_write_kind: r.longest.kind, longest_wait_ms: r.longestWaitMs, by_kind: r.byKind });
      for (const line of lockBenchLines(r)) log(line);
    },
  },
  { name: 'sweep', title: 'the whole answer-cases grid through `converge run` (opt-in: --sweep)', optIn: true, run: benchAnswerCases },
  { name: 'scale', title: 'per-run overhead of `converge run`: 1,000 vs 100,000 trivial runs (L=9, N=10, 1 epoch, 2 workers; opt-in: --sweep)', optIn: true, run: benchScale },
  {
    name: 'trainers',
    title: 'user trainers: a do-nothing command and module report() beyond their own time, and the built-in grid against the release before (opt-in: --sweep or --only trainers; --before DIR)',
    optIn: true,
    run: () => benchTrainers(CLI, process.argv, { log, emit: (o) => emit({ engine: 'none', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, ...o } as Row) }),
  },
  {
    name: 'search',
    title: 'boundary search in simulation: interval coverage, and runs against a plain grid (opt-in: --only search [--searches N])',
    optIn: true,
    run: () => benchSearch({ log, emit: (o) => emit({ engine: 'none', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, ...o } as Row) }, process.argv),
  },
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--rss-child') return rssChild();
  if (args[0] === '--load-child') return loadChildMain();
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : undefined;
  const unknown = only ? [...only].filter((n) => !SECTIONS.some((s) => s.name === n)) : [];
  if (unknown.length > 0) throw new Error(`--only: unknown section ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const load = loadavg()[0]!;
  log('converge engine benchmark: the seed model (LSTM(10), masking, relu, Adam), one core per run');
  log(`load average (1 min) at start: ${load.toFixed(2)}. Times are CPU seconds of this process unless marked wall;`);
  log('ratios between variants timed side by side are the robust figures; absolute times need a quiet machine.\n');
  for (const s of SECTIONS) {
    const wanted = only ? only.has(s.name) : !s.optIn || args.includes('--sweep');
    if (!wanted) continue;
    log(`${s.title}`);
    await s.run();
    log('');
  }
  emit({ case: 'machine', engine: 'none', kernel: null, seconds_per_epoch: null, ratio_vs_tfjs: null, ratio_vs_js_per_row: null, load_avg_1m_start: load, load_avg_1m_end: loadavg()[0]! });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
