/**
 * Lazy TF.js loading. Nothing here imports TF.js at module load (only types), so the CLI and
 * the fused engine never pay its ~1 s require cost unless a tfjs run actually happens.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';

/**
 * What the reference engine uses of TF.js: tfjs-core (tensors, ops, optimizers) and tfjs-layers
 * (the Keras-style model), run on tfjs-backend-cpu. The @tensorflow/tfjs umbrella would add the
 * converter, data and WebGL packages, which a Node CLI never uses.
 */
export type Tf = typeof TfCore & typeof TfLayers;

export interface LoadedTf {
  tf: Tf;
  /** tf.getBackend() after loading: 'tensorflow' with tfjs-node, 'cpu' for pure JS. */
  backend: string;
  /** Why tfjs-node was not used, when it was tried and failed (absent, broken native binding…). */
  fallbackReason?: string;
}

export interface LoadTfOptions {
  /** Try @tensorflow/tfjs-node first. @default true */
  preferNode?: boolean;
}

// One load per thread: TF.js keeps global engine state, so a second load would only re-register.
let loading: Promise<LoadedTf> | undefined;

export function loadTf(options: LoadTfOptions = {}): Promise<LoadedTf> {
  if (!loading) {
    loading = doLoad(options.preferNode ?? true);
    // A failed load must not poison every later attempt in this thread.
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

async function doLoad(preferNode: boolean): Promise<LoadedTf> {
  let fallbackReason: string | undefined;
  if (preferNode) {
    try {
      // tfjs-node logs through TensorFlow's C++ logger; keep it to warnings and errors unless
      // the user asked otherwise.
      process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tf = require('@tensorflow/tfjs-node') as Tf;
      await tf.ready();
      const backend = tf.getBackend();
      if (backend === 'tensorflow') return { tf, backend };
      fallbackReason = `@tensorflow/tfjs-node loaded but the active backend is '${backend}'`;
    } catch (e) {
      // Absent (optional dependency), missing native binary, or the second-worker-thread
      // failure of tensorflow/tfjs#8388: all of them mean "use the pure-JS backend".
      fallbackReason = `@tensorflow/tfjs-node unavailable: ${firstLine(e)}`;
    }
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  // Registering the cpu backend is a side effect of loading its package; tfjs-layers must see
  // the same tfjs-core instance (its exact-version peer dependency), which npm dedupes.
  require('@tensorflow/tfjs-backend-cpu');
  const tf = { ...(require('@tensorflow/tfjs-core') as typeof TfCore), ...(require('@tensorflow/tfjs-layers') as typeof TfLayers) } as Tf;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error('TF.js could not initialise its cpu backend');
  await tf.ready();
  silenceNodeHint(tf);
  const loaded: LoadedTf = { tf, backend: tf.getBackend() };
  if (fallbackReason !== undefined) loaded.fallbackReason = fallbackReason;
  return loaded;
}

/**
 * The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js…" through
 * console.warn on its FIRST tensor write (not at require time). tf.enableProdMode() would also
 * hide it, but it mutes every other TF.js warning process-wide; instead, do that first write
 * here with a console.warn that drops only this one message.
 */
function silenceNodeHint(tf: Tf): void {
  const original = console.warn;
  console.warn = (...args: unknown[]): void => {
    const text = args.map(String).join(' ');
    if (text.includes('running TensorFlow.js in Node.js')) return;
    original.apply(console, args);
  };
  try {
    tf.scalar(0).dispose();
  } finally {
    console.warn = original;
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n', 1)[0] ?? msg;
}
