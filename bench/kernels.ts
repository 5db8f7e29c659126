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
}

export const KERNEL_CASES: KernelCase[] = [
  { name: 'L200_N130_b1_kernels', seqLen: 200, nSamples: 130, epochs: 15 },
  { name: 'L2000_N50_b1_kernels', seqLen: 2000, nSamples: 50, epochs: 7 },
];

export interface KernelResult {
  case: string;
  seqLen: number;
  nSamples: number;
  /** Median CPU seconds per epoch (train + validation), per kernel. */
  js: { secondsPerEpoch: number; trainSeconds: number };
  wasm: { secondsPerEpoch: number; trainSeconds: number; backend: string };
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

export function benchKernels(c: KernelCase, seed = 1): KernelResult {
  const req = seedRequest({ seqLen: c.seqLen, nSamples: c.nSamples, seed, train: { epochs: c.epochs + 1, batchSize: 1 } });
  const data = makeDataset(req.seqLen, req.nSamples, req.testFraction, req.seed);
  const choice = chooseKernel({});
  if (choice.kernel.backend !== 'fused-wasm-simd') throw new Error(`the wasm kernel did not load: ${choice.notice}`);
  const trainers: Record<'js' | 'wasm', FusedTrainer> = {
    js: createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), { kernel: jsKernel }),
    wasm: createFusedTrainer(req, data, initWeights(req.model, 1, req.seed), choice),
  };
  const aliveRows = trainers.js.predict(data.trainX, data.nTrain).filter((v) => v > 0).length;
  if (aliveRows === 0) throw new Error(`${c.name}: seed ${seed} is dead at initialisation; time a live seed`);
  let stepsPerEpoch = 0;
  for (let r = 0; r < data.nTrain; r++) stepsPerEpoch += c.seqLen - data.rowsDrawn[r]!;
  const epochCpu = { js: [] as number[], wasm: [] as number[] };
  const trainCpu = { js: [] as number[], wasm: [] as number[] };
  for (let epoch = 1; epoch <= c.epochs + 1; epoch++) {
    const batches = batchesOf(epochOrder(data.nTrain, epoch, req.seed, true), 1);
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
    wasm: { secondsPerEpoch: median(epochCpu.wasm), trainSeconds: median(trainCpu.wasm), backend: trainers.wasm.backend },
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
  const base = { case: r.case, engine: 'fused', seq_len: r.seqLen, n_samples: r.nSamples, batch_size: 1, epochs_measured: r.epochs, alive_rows_at_init: r.aliveRows, timing: 'cpu_median_interleaved' };
  const rec = (kernel: string, s: { secondsPerEpoch: number; trainSeconds: number }): object => ({
    ...base,
    kernel,
    seconds_per_epoch: s.secondsPerEpoch,
    ratio_vs_tfjs: tfjsSecondsPerEpoch === undefined ? null : tfjsSecondsPerEpoch / s.secondsPerEpoch,
    ratio_vs_js_per_row: r.js.secondsPerEpoch / s.secondsPerEpoch,
    train_ratio_vs_js_per_row: r.js.trainSeconds / s.trainSeconds,
    us_per_unmasked_step: (s.trainSeconds / r.stepsPerEpoch) * 1e6,
  });
  return [rec('js', r.js), rec('wasm-simd', r.wasm)];
}

/** One human line for the same numbers. */
export function kernelLine(r: KernelResult): string {
  const us = (s: number): string => ((s / r.stepsPerEpoch) * 1e6).toFixed(3);
  return (
    `${r.case} (L=${r.seqLen}, N=${r.nSamples}, batch 1, ${r.aliveRows} rows alive at init): ` +
    `wasm ${(r.js.secondsPerEpoch / r.wasm.secondsPerEpoch).toFixed(2)}× the JS kernel per epoch ` +
    `(${(r.js.trainSeconds / r.wasm.trainSeconds).toFixed(2)}× training alone); ` +
    `${us(r.wasm.trainSeconds)} µs vs ${us(r.js.trainSeconds)} µs per unmasked step ` +
    `(CPU medians of ${r.epochs} interleaved epochs)`
  );
}

if (require.main === module) {
  for (const c of KERNEL_CASES) console.log(kernelLine(benchKernels(c)));
}
