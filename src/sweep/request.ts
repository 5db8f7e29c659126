import { PARAMS, type ParamName, type ParamValue, type ResolvedParams } from '../spec';
import type { ModelConfig, TrainConfig, TrainRequest } from '../train/contract';

/** The training request for one run: resolved parameters (snake_case, as in the spec) + seed. */
export function toRequest(params: ResolvedParams, seed: number): TrainRequest {
  return {
    engine: params.engine,
    seqLen: params.seq_len,
    nSamples: params.n_samples,
    testFraction: params.test_fraction,
    seed,
    model: {
      units: params.units,
      activation: params.activation,
      recurrentActivation: params.recurrent_activation,
      kernelInitializer: params.kernel_initializer,
      kernelGain: params.kernel_gain,
      recurrentInitializer: params.recurrent_initializer,
      recurrentGain: params.recurrent_gain,
      unitForgetBias: params.unit_forget_bias,
      masking: params.masking,
      outputActivation: params.output_activation,
    },
    train: {
      epochs: params.epochs,
      batchSize: params.batch_size,
      learningRate: params.learning_rate,
      beta1: params.beta_1,
      beta2: params.beta_2,
      epsilon: params.epsilon,
      shuffle: params.shuffle,
    },
  };
}

/** Every parameter at its spec default (the seed answer's Keras model), with overrides. */
export function defaultParams(over: Partial<ResolvedParams> & Pick<ResolvedParams, 'seq_len' | 'n_samples'>): ResolvedParams {
  const p: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(PARAMS)) if (d.default !== undefined) p[k] = d.default;
  for (const [k, v] of Object.entries(over)) if (v !== undefined) p[k as ParamName] = v;
  return p as ResolvedParams;
}

/**
 * A request for the seed answer's model (spec defaults) — the one place tests and the
 * benchmark take it from, so they exercise exactly what `converge run` trains by default.
 */
export function seedRequest(o: {
  engine?: TrainRequest['engine'];
  seqLen: number;
  nSamples: number;
  seed: number;
  testFraction?: number;
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
}): TrainRequest {
  const base = toRequest(defaultParams({ seq_len: o.seqLen, n_samples: o.nSamples, ...(o.testFraction !== undefined ? { test_fraction: o.testFraction } : {}) }), o.seed);
  return {
    ...base,
    engine: o.engine ?? base.engine,
    model: { ...base.model, ...o.model },
    train: { ...base.train, ...o.train },
  };
}

/**
 * A user-trainer run's typed parameters from its stored params_json (grid/run-key.ts
 * userParamsJson): what the module's train(params, ctx) receives and a command's placeholders
 * and CONVERGE_PARAMS file hold.
 */
export function userRunParams(paramsJson: string): Record<string, ParamValue> {
  return JSON.parse(paramsJson) as Record<string, ParamValue>;
}
