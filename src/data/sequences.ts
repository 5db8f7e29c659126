import { ConvergeError } from '../errors';
import { createRng, deriveSeed, shuffleInPlace } from '../util/rng';

/**
 * The seed experiment's data (../shared/reference/seed-experiment.md): the population is
 * triu(ones(L+1, L)); row k has k leading zeros then L-k ones, target = fraction of ones.
 * Shuffle the L+1 rows with the run's seed, keep the first N, the last floor(test_fraction·N)
 * of them are the test (validation) split. Rows not drawn form the "population" set.
 * test_fraction 0 trains on all N rows: the default rule (pop_mae) scores every one of the L+1
 * rows and needs no validation split, so small N need not give a row away to one.
 */
export interface Dataset {
  seqLen: number;
  /** Inputs, row-major [nTrain, seqLen] (one feature per timestep). */
  trainX: Float32Array;
  trainY: Float32Array;
  testX: Float32Array;
  testY: Float32Array;
  nTrain: number;
  nTest: number;
  /** Leading-zero count k of each drawn row, train rows then test rows. */
  rowsDrawn: Int32Array;
  /** Leading-zero counts of the L+1-N rows never drawn: an exhaustive generalisation set. */
  rowsUnused: Int32Array;
}

/** How many rows go to the test split: floor(testFraction · N), as the answer's code does. */
export function testCount(nSamples: number, testFraction: number): number {
  return Math.floor(testFraction * nSamples + 1e-9);
}

/**
 * Why N rows cannot be split by testFraction, or undefined: every split needs a train row, and a
 * split asked for (testFraction > 0) needs a validation row; testFraction 0 asks for none.
 */
export function splitProblem(nSamples: number, testFraction: number): string | undefined {
  const nTest = testCount(nSamples, testFraction);
  if (testFraction > 0 && nTest < 1) {
    return `n_samples=${nSamples} × test_fraction=${testFraction} leaves no validation row (test_fraction: 0 trains on every row when the rule needs no validation split)`;
  }
  if (nSamples - nTest < 1) return `n_samples=${nSamples} leaves no train row`;
  return undefined;
}

/** Row k of the population: k zeros, then L-k ones. */
export function fillRow(out: Float32Array, offset: number, seqLen: number, k: number): void {
  for (let t = 0; t < seqLen; t++) out[offset + t] = t < k ? 0 : 1;
}

export function targetOf(seqLen: number, k: number): number {
  return (seqLen - k) / seqLen;
}

/** Every row of the population, k = 0..L, row-major [L+1, L]: the per-row evaluation's input. */
export function populationX(seqLen: number): Float32Array {
  const x = new Float32Array((seqLen + 1) * seqLen);
  for (let k = 0; k <= seqLen; k++) fillRow(x, k * seqLen, seqLen, k);
  return x;
}

/** Targets of the population rows, k = 0..L. Their mean is exactly 0.5. */
export function populationTargets(seqLen: number): Float64Array {
  const y = new Float64Array(seqLen + 1);
  for (let k = 0; k <= seqLen; k++) y[k] = targetOf(seqLen, k);
  return y;
}

export function makeDataset(seqLen: number, nSamples: number, testFraction: number, seed: number): Dataset {
  if (!Number.isInteger(seqLen) || seqLen < 1) {
    throw new ConvergeError('data.badSize', `seq_len must be a positive integer, got ${seqLen}`);
  }
  if (nSamples > seqLen + 1) {
    throw new ConvergeError(
      'data.impossibleCell',
      `n_samples=${nSamples} > seq_len+1=${seqLen + 1}: there are only seq_len+1 distinct rows`,
    );
  }
  const nTest = testCount(nSamples, testFraction);
  const nTrain = nSamples - nTest;
  const why = splitProblem(nSamples, testFraction);
  if (why) throw new ConvergeError('data.emptySplit', `${why}: ${nTrain} train and ${nTest} test rows`);
  const order = new Int32Array(seqLen + 1);
  for (let k = 0; k <= seqLen; k++) order[k] = k;
  shuffleInPlace(order, createRng(deriveSeed(seed, 'data')));
  const trainX = new Float32Array(nTrain * seqLen);
  const trainY = new Float32Array(nTrain);
  const testX = new Float32Array(nTest * seqLen);
  const testY = new Float32Array(nTest);
  for (let i = 0; i < nSamples; i++) {
    const k = order[i]!;
    if (i < nTrain) {
      fillRow(trainX, i * seqLen, seqLen, k);
      trainY[i] = targetOf(seqLen, k);
    } else {
      fillRow(testX, (i - nTrain) * seqLen, seqLen, k);
      testY[i - nTrain] = targetOf(seqLen, k);
    }
  }
  return {
    seqLen,
    trainX,
    trainY,
    testX,
    testY,
    nTrain,
    nTest,
    rowsDrawn: order.slice(0, nSamples),
    rowsUnused: order.slice(nSamples),
  };
}
