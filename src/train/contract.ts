/**
 * The one contract every training engine implements. A run is fully described by a
 * TrainRequest (resolved parameters + seed); the engine reports each epoch through `onEpoch`
 * and resolves a TrainSummary. Both engines draw initial weights from `initWeights` and the
 * batch order from `epochOrder` (src/train/init.ts), so the same request gives the same numbers
 * on either engine within tolerance.
 */

export type EngineName = 'fused' | 'tfjs';
export type RecurrentActivation = 'sigmoid' | 'hard_sigmoid';
export type InitializerName = 'orthogonal' | 'glorot_uniform' | 'glorot_normal';
export type OutputActivation = 'relu' | 'linear';

export interface ModelConfig {
  /** LSTM units. @default 10 */
  units: number;
  /** LSTM cell activation. @default 'tanh' */
  activation: 'tanh';
  /** Gate activation. Keras 2.3 default 'sigmoid' (tfjs default is hardSigmoid, so it is set explicitly). */
  recurrentActivation: RecurrentActivation;
  kernelInitializer: InitializerName;
  /** Gain (orthogonal) or scale multiplier (glorot) of the input kernel. @default 0.01 with orthogonal */
  kernelGain: number;
  recurrentInitializer: InitializerName;
  /** @default 1 */
  recurrentGain: number;
  /** Forget-gate bias starts at 1 (Keras default true; tfjs default false). @default true */
  unitForgetBias: boolean;
  /** Masking(mask_value=0) before the LSTM. @default true */
  masking: boolean;
  outputActivation: OutputActivation;
}

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** Adam hyper-parameters (Keras defaults). */
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Shuffle the train rows each epoch with the run's seeded stream. @default true */
  shuffle: boolean;
}

export interface TrainRequest {
  engine: EngineName;
  seqLen: number;
  nSamples: number;
  testFraction: number;
  seed: number;
  model: ModelConfig;
  train: TrainConfig;
  /** Stop early once converged? Never by default: a run trains all its epochs. */
}

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  loss: number;
  mae: number;
  /** Over the validation split; null when it has no rows (test_fraction 0). */
  valLoss: number | null;
  valMae: number | null;
  /**
   * Over all L+1 rows of the population (the whole input space, seed-experiment.md): mean
   * squared error and mean absolute error of the model after this epoch.
   */
  popLoss: number;
  popMae: number;
  /** MAE over the rows never drawn for this run; null when n_samples = seq_len + 1. */
  unseenMae: number | null;
  /** Largest output over the L+1 population rows: <= 0 means the ReLU is dead on every input. */
  popMaxOutput: number;
  /** Wall seconds this epoch took (train + validation + population). */
  seconds: number;
}

export interface TrainSummary {
  /** What actually computed: 'fused-wasm-simd', 'fused-js', 'tensorflow' (tfjs-node), 'cpu' (tfjs pure JS)… */
  backend: string;
  epochsRun: number;
  /**
   * False when, before the first update, the ReLU output's pre-activation is <= 0 on every
   * training row: then every gradient is exactly 0 forever (relu'(x <= 0) = 0), whatever the
   * setting. Always true for a linear output.
   */
  aliveAtInit: boolean;
  /** True when the ReLU output is <= 0 on every one of the L+1 population rows after training. */
  deadOutput: boolean;
  /** True when a NaN/Inf loss appeared; training stops at that epoch. */
  diverged: boolean;
  /** Something the person running the sweep should hear once (e.g. the kernel fell back to JS). */
  notice?: string;
}

export interface TrainHooks {
  onEpoch(m: EpochMetrics): void;
  /** The compute backend (TrainSummary.backend), once chosen, before the first epoch: a run that fails later still has it. */
  onBackend?(backend: string): void;
  /** Checked between batches; when aborted the engine rejects with an AbortError-like error. */
  signal?: AbortSignal;
}

export interface Engine {
  readonly name: EngineName;
  train(req: TrainRequest, hooks: TrainHooks): Promise<TrainSummary>;
}

/**
 * Weights in Keras layout, gate order i, f, c, o.
 * kernel [inputDim, 4·units], recurrentKernel [units, 4·units], bias [4·units],
 * denseKernel [units, 1], denseBias [1]. Row-major.
 */
export interface LstmWeights {
  inputDim: number;
  units: number;
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
  denseKernel: Float32Array;
  denseBias: Float32Array;
}

/** Loss and MAE of one batch (computed in the forward pass, before the update, as Keras reports). */
export interface BatchMetrics {
  loss: number;
  mae: number;
}

export interface Evaluation {
  loss: number;
  mae: number;
  /** Largest model output over the rows evaluated (<= 0 everywhere means a dead ReLU). */
  maxOutput: number;
}

/**
 * What an engine really implements: a model holding weights plus an Adam state, on which the
 * shared epoch loop (src/train/loop.ts) calls trainBatch/evaluate. Engines differ only here.
 */
export interface Trainer {
  /** Human-readable compute backend, recorded per run. */
  readonly backend: string;
  /** Passed on in TrainSummary.notice (e.g. why the fused engine runs its JS kernel). */
  readonly notice?: string;
  /** One Adam step on the given train rows (indices into the train split). */
  trainBatch(rows: Int32Array): BatchMetrics;
  /** Forward only, over `n` rows of x ([n, seqLen]) against y. */
  evaluate(x: Float32Array, y: Float32Array, n: number): Evaluation;
  /**
   * Model outputs for every row of the population, index k = the row with k leading zeros
   * (k = 0..seqLen). With masking on, every row runs one hidden-state trajectory, so an engine
   * may compute all L+1 outputs in one pass of length L (src/train/fused/population.ts).
   */
  predictPopulation(): Float64Array;
  /** A copy of the current weights (Keras layout). */
  getWeights(): LstmWeights;
  /**
   * Optional: true when every gradient since initialisation was exactly zero (a ReLU output
   * dead from the start). Adam then never moved a weight and never will (m = v = 0 gives a zero
   * step), so every later epoch repeats this one; the loop stops computing them.
   */
  isFrozen?(): boolean;
  /** Free whatever the trainer holds (tensors); idempotent. */
  dispose(): void;
}
