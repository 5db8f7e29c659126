/**
 * Batch-1 training, WebAssembly SIMD kernel vs the plain-JS kernel, side by side in this process:
 * whole epochs (train + validation, as runEpochs does them) alternating between the two kernels,
 * so both see the same machine load; CPU-time medians. Both trainers start from the same alive
 * initialisation (the dense output is checked > 0 on some train row: a dead relu is forward-only
 * and would flatter both) and step through the same batches.
 */
import { makeDataset } from '../src/data/sequences';
import { seedRequest } from '../src/sweep/request';
import { chooseKernel, createFusedTrainer, jsKernel, type FusedTrainer } from '../src/train/fused';
import { batchesOf, epochOrder, initWeights } from '../src/train/init';

export interface KernelCase {
  name: string;
  seqLen: number;
  nSamples: number;
  /** Epochs timed per kernel, after one warm-up epoch each. */
  epochs: number;
  /** @default 1 */
  batchSize?: number;
}

export const KERNEL_CASES: KernelCase[] = [
  { name: 'L200_N130_b1_kernels', seqLen: 200, nSamples: 130, epochs: 15 },
  { name: 'L2000_N50_b1_kernels', seqLen: 2000, nSamples: 50, epochs: 7 },
];

/** Batch 32: the shared-trajectory wasm kernel against the per-row JS kernel. */
export const SHARED_CASES: KernelCase[] = [
  { name: 'L200_N130_b32_kernels', seqLen: 200, nSamples: 130, epochs: 9, batchSize: 32 },
  { name: 'L2000_N1200_b32_kernels', seqLen: 2000, nSamples: 1200, epochs: 3, batchSize: 32 },
];

export interface KernelResult {
  case: string;
  seqLen: number;
  nSamples: number;
  /** Median CPU seconds per epoch (train + validation), per kernel. */
  js: { secondsPerEpoch: number; trainSeconds: number };
  wasm: { secondsPerEpoch: number; trainSeconds: number; backend: string; path: string };
  batchSize: number;
  /** Unmasked row-timesteps of one training epoch. */
  stepsPerEpoch: number;
  aliveRows: number;
  epochs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * `wasmPath`: 'per-row' times the per-row wasm kernel (batch 1 has nothing to share); 'shared'
 * the shared trajectory. The JS kernel runs per row either way: the reference.
 */
export function benchKernels(c: KernelCase, wasmPath: 'per-row' | 'shared' = 'per-row', seed = 1): KernelResult {
  const batchSize = c.batchSize ?? 1;
  const req = seedRequest({ seqLen: c.seqLen, nSamples: c.nSamples, seed, train: { epochs: c.epochs + 1, batchSize } });
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const choice = chooseKernel({ CONVERGE_KERNEL: wasmPath === 'shared' ? 'wasm' : 'wasm-per-row' });
  if (choice.kernel.backend !== 'fused-wasm-simd') throw new Error(`the wasm kernel did not load: ${choice.notice}`);
  const trainers: Record<'js' | 'wasm', FusedTrainer> = {
    js: createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: { kernel: jsKernel }, batchPath: 'per-row' }),
    wasm: createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: choice }),
  };
  const aliveRows = trainers.js.predict(data.trainX, data.nTrain).filter((v) => v > 0).length;
  if (aliveRows === 0) throw new Error(`${c.name}: seed ${seed} is dead at initialisation; time a live seed`);
  let stepsPerEpoch = 0;
  for (let r = 0; r < data.nTrain; r++) stepsPerEpoch += c.seqLen - data.rowsDrawn[r]!;
  const epochCpu = { js: [] as number[], wasm: [] as number[] };
  const trainCpu = { js: [] as number[], wasm: [] as number[] };
  for (let epoch = 1; epoch <= c.epochs + 1; epoch++) {
    const batches = batchesOf(epochOrder(data.nTrain, epoch, req.seed, true), batchSize);
    // Alternate which kernel goes first, so neither always runs right after the other's GC.
    const order: Array<'js' | 'wasm'> = epoch % 2 ? ['js', 'wasm'] : ['wasm', 'js'];
    for (const k of order) {
      const t = trainers[k];
      const t0 = cpuNow();
      for (const rows of batches) t.trainBatch(rows);
      const t1 = cpuNow();
      t.evaluate(data.testX, data.testY, data.nTest);
      const t2 = cpuNow();
      if (epoch === 1) continue; // warm-up (JIT, first touch of memory)
      trainCpu[k].push(t1 - t0);
      epochCpu[k].push(t2 - t0);
    }
  }
  return {
    case: c.name,
    seqLen: c.seqLen,
    nSamples: c.nSamples,
    js: { secondsPerEpoch: median(epochCpu.js), trainSeconds: median(trainCpu.js) },
    wasm: { secondsPerEpoch: median(epochCpu.wasm), trainSeconds: median(trainCpu.wasm), backend: trainers.wasm.backend, path: wasmPath },
    batchSize,
    stepsPerEpoch,
    aliveRows,
    epochs: c.epochs,
  };
}

/**
 * The bench's JSON objects for one kernel case: one per kernel, with the common fields and
 * `kernel`, `ratio_vs_js_per_row` (JS per-row CPU time / this kernel's, same process, same
 * batches) and µs per unmasked step (training CPU time / unmasked row-timesteps).
 */
export function kernelRecords(r: KernelResult, tfjsSecondsPerEpoch: number | undefined): object[] {
  const base = { case: r.case, engine: 'fused', seq_len: r.seqLen, n_samples: r.nSamples, batch_size: r.batchSize, epochs_measured: r.epochs, alive_rows_at_init: r.aliveRows, timing: 'cpu_median_interleaved' };
  const rec = (kernel: string, s: { secondsPerEpoch: number; trainSeconds: number }): object => ({
    ...base,
    kernel,
    seconds_per_epoch: s.secondsPerEpoch,
    ratio_vs_tfjs: tfjsSecondsPerEpoch === undefined ? null : tfjsSecondsPerEpoch / s.secondsPerEpoch,
    ratio_vs_js_per_row: r.js.secondsPerEpoch / s.secondsPerEpoch,
    train_ratio_vs_js_per_row: r.js.trainSeconds / s.trainSeconds,
    us_per_unmasked_step: (s.trainSeconds / r.stepsPerEpoch) * 1e6,
  });
  return [rec('js', r.js), rec(r.wasm.path === 'shared' ? 'wasm-simd-shared' : 'wasm-simd', r.wasm)];
}

/** One human line for the same numbers. */
export function kernelLine(r: KernelResult): string {
  const us = (s: number): string => ((s / r.stepsPerEpoch) * 1e6).toFixed(3);
  return (
    `${r.case} (L=${r.seqLen}, N=${r.nSamples}, batch ${r.batchSize}, ${r.aliveRows} rows alive at init): ` +
    `wasm ${r.wasm.path} ${(r.js.secondsPerEpoch / r.wasm.secondsPerEpoch).toFixed(2)}× the JS kernel per epoch ` +
    `(${(r.js.trainSeconds / r.wasm.trainSeconds).toFixed(2)}× training alone); ` +
    `${us(r.wasm.trainSeconds)} µs vs ${us(r.js.trainSeconds)} µs per unmasked row-step ` +
    `(CPU medians of ${r.epochs} interleaved epochs)`
  );
}

/**
 * Population evaluation (all L+1 rows): the wasm kernel's one shared pass against the JS kernel
 * evaluating every row on its own (per-row predict over the L+1 rows), interleaved CPU medians.
 */
export function benchPopulation(seqLen: number, reps: number): { seqLen: number; perRowJs: number; sharedWasm: number; reps: number } {
  const req = seedRequest({ seqLen, nSamples: 50, seed: 1 });
  const data = makeDataset(seqLen, 50, req.testFraction, 1);
  const rows = new Float32Array((seqLen + 1) * seqLen);
  for (let k = 0; k <= seqLen; k++) rows.fill(1, k * seqLen + k, (k + 1) * seqLen);
  const js = createFusedTrainer(req, data, initWeights(req.model, 1, 1), { kernel: { kernel: jsKernel }, batchPath: 'per-row' });
  const wasm = createFusedTrainer(req, data, initWeights(req.model, 1, 1), { kernel: chooseKernel({}) });
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i <= reps; i++) {
    let t0 = cpuNow();
    js.predict(rows, seqLen + 1);
    const tj = cpuNow() - t0;
    t0 = cpuNow();
    // Repeated so the short shared pass is not below the clock's resolution.
    for (let j = 0; j < 20; j++) wasm.predictPopulation();
    const tw = (cpuNow() - t0) / 20;
    if (i > 0) {
      a.push(tj);
      b.push(tw);
    }
  }
  return { seqLen, perRowJs: median(a), sharedWasm: median(b), reps };
}

if (require.main === module) {
  const which = process.argv[2] ?? 'b1';
  if (which === 'b1') for (const c of KERNEL_CASES) console.log(kernelLine(benchKernels(c)));
  if (which === 'b32') for (const c of SHARED_CASES) console.log(kernelLine(benchKernels(c, 'shared')));
  if (which === 'pop') {
    for (const [L, reps] of [[200, 5], [2000, 1]] as const) {
      const p = benchPopulation(L, reps);
      console.log(`population L=${L}: per-row JS ${p.perRowJs.toFixed(4)} s, shared wasm ${p.sharedWasm.toFixed(6)} s: ${(p.perRowJs / p.sharedWasm).toFixed(0)}×`);
    }
  }
}
