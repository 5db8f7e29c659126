/**
 * Keras' own epoch lines, so an unmodified `model.fit(verbose=2)` script reports its epochs. What
 * each version prints at the end of an epoch (values `%.4f`, or `%.4e` at or below 1e-3, so
 * `1.2345e-04`, `nan`, `inf`):
 *   Keras 2.2–2.3:        `Epoch 3/50` then ` - 0s - loss: 0.0812 - mae: 0.2436 - val_loss: …`
 *   tf.keras (TF 2.x):    `Epoch 3/50` then `4/4 - 0s - loss: 0.0812 - mae: 0.2436 - val_loss: … - 76ms/epoch - 19ms/step`
 *   Keras 3:              `Epoch 3/50` then `4/4 - 0s - 12ms/step - loss: 0.0812 - mae: 0.2436 - val_loss: …`
 * (keras/src/utils/progbar.py, `verbose == 2`; callbacks such as ReduceLROnPlateau add `- lr: …`
 * in Keras 2 and `- learning_rate: …` in Keras 3, kept as metrics like any other.)
 * `verbose=1` works too when its final update is recognisable: intermediate updates carry
 * `ETA:` (Keras 2) or a step count below its target (`12/117`), and are skipped.
 */

export interface KerasEpochHeader {
  /** 1-based, as Keras prints it. */
  epoch: number;
  of: number;
}

const HEADER = /^\s*Epoch (\d+)\/(\d+)\s*$/;
// Terminal colour codes (Keras 3 prints bold step counts) and the backspaces of redrawn bars.
const DECORATION = /\x1b\[[0-9;]*[A-Za-z]|\x08/g;
const PAIR = /(?:^|\s)- ([A-Za-z_][\w./]*): (\S+)/g;
const STEP_COUNT = /^\s*(\d+)\/(\d+)\b/;
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;
const NOT_FINITE = /^[-+]?(?:nan|inf|infinity)$/i;

export function parseKerasHeader(line: string): KerasEpochHeader | undefined {
  const m = HEADER.exec(line.replace(DECORATION, ''));
  return m ? { epoch: Number(m[1]), of: Number(m[2]) } : undefined;
}

/**
 * The metrics of a Keras end-of-epoch line (`nan` and `inf` as null: the run diverged there), or
 * undefined when the line is not one: no `- name: number` pair, or an intermediate progress update.
 */
export function parseKerasMetrics(line: string): Record<string, number | null> | undefined {
  const text = line.replace(DECORATION, '');
  if (text.includes(' - ETA: ')) return undefined;
  const count = STEP_COUNT.exec(text);
  if (count && Number(count[1]) < Number(count[2])) return undefined;
  const metrics: Record<string, number | null> = {};
  let any = false;
  for (const m of text.matchAll(PAIR)) {
    const [, name, raw] = m as unknown as [string, string, string];
    if (NUMBER.test(raw)) metrics[name] = Number(raw);
    else if (NOT_FINITE.test(raw)) metrics[name] = null;
    else continue;
    any = true;
  }
  return any ? metrics : undefined;
}
