import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LineSplitter } from '../../src/trainer/lines';
import { MetricsStream, parseKerasHeader, parseKerasMetrics, type EpochRecord } from '../../src/trainer';
import { ROOT } from '../helpers';

/** test/fixtures/keras-verbose2.log, written by test/fixtures/make-keras-verbose2-log.py with its expected epochs beside it. */
const FIXTURE = join(ROOT, 'test', 'fixtures', 'keras-verbose2.log');
const EXPECTED = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'keras-verbose2.expected.json'), 'utf8')) as EpochRecord[];

function parseStdout(text: string): MetricsStream {
  const stream = new MetricsStream();
  const lines = new LineSplitter((line, n) => stream.pushStdoutLine(line, n), { carriageReturnOverwrites: true });
  lines.push(Buffer.from(text));
  lines.end();
  stream.end();
  return stream;
}

describe('Keras epoch lines', () => {
  it('the recorded Keras 2.3 verbose=2 log parses into exactly its 50 epochs and printed values', () => {
    const stream = parseStdout(readFileSync(FIXTURE, 'utf8'));
    assert.equal(stream.epochs.length, 50);
    assert.deepEqual(stream.epochs, EXPECTED);
    assert.deepEqual(stream.epochs[0], { epoch: 1, metrics: { loss: 0.086, mae: 0.2539, val_loss: 0.0985, val_mae: 0.3017 } });
    // Values at or below 1e-3 are printed by Keras as %.4e.
    assert.deepEqual(stream.epochs[49], { epoch: 50, metrics: { loss: 4.8986e-6, mae: 0.002, val_loss: 5.361e-6, val_mae: 0.0021 } });
    assert.equal(stream.failure, undefined);
    assert.equal(stream.badLines, 0);
  });

  it('tf.keras 2.x lines (step count first, epoch and step times last) parse, the times ignored', () => {
    assert.deepEqual(parseKerasMetrics('4/4 - 0s - loss: 0.0812 - mae: 0.2436 - val_loss: 0.0700 - val_mae: 0.2301 - 76ms/epoch - 19ms/step'), {
      loss: 0.0812,
      mae: 0.2436,
      val_loss: 0.07,
      val_mae: 0.2301,
    });
  });

  it('Keras 3 lines (time per step before the metrics) parse, with learning_rate, e-notation and nan', () => {
    assert.deepEqual(parseKerasMetrics('2/2 - 0s - 12ms/step - loss: 1.2345e-04 - mae: nan - val_loss: inf - val_mae: -1.0000e+00 - learning_rate: 1.0000e-03'), {
      loss: 1.2345e-4,
      mae: null,
      val_loss: null,
      val_mae: -1,
      learning_rate: 0.001,
    });
    assert.deepEqual(parseKerasMetrics(' - 1s - loss: 0.5000 - acc: 0.7500 - lr: 0.0100'), { loss: 0.5, acc: 0.75, lr: 0.01 });
  });

  it('intermediate progress updates and lines without metrics are not epochs', () => {
    assert.equal(parseKerasMetrics(' 64/117 [===============>..............] - ETA: 1s - loss: 0.0901 - mae: 0.2600'), undefined);
    assert.equal(parseKerasMetrics('12/117 - 0s - loss: 0.0901'), undefined);
    assert.equal(parseKerasMetrics('13/13 [==============================] - 0s 538us/step'), undefined);
    assert.equal(parseKerasMetrics('Train on 117 samples, validate on 13 samples'), undefined);
    assert.deepEqual(parseKerasHeader('Epoch 3/50'), { epoch: 3, of: 50 });
    assert.equal(parseKerasHeader('Epoch 3 of 50'), undefined);
  });

  it('Keras 3 verbose=1 output (one line redrawn with \\r and colour codes) gives the final update of each epoch', () => {
    const redraw = (step: number, loss: string) => `\r\x1b[1m${String(step).padStart(3)}/117\x1b[0m \x1b[32m━━━━━\x1b[0m \x1b[1m1s\x1b[0m 9ms/step - loss: ${loss} - mae: 0.2000`;
    const text = `Epoch 1/2\n${redraw(50, '0.0900')}${redraw(117, '0.0800')} - val_loss: 0.0700 - val_mae: 0.1900\nEpoch 2/2\n${redraw(117, '0.0500')} - val_loss: 0.0400 - val_mae: 0.1500\n`;
    assert.deepEqual(parseStdout(text).epochs, [
      { epoch: 1, metrics: { loss: 0.08, mae: 0.2, val_loss: 0.07, val_mae: 0.19 } },
      { epoch: 2, metrics: { loss: 0.05, mae: 0.2, val_loss: 0.04, val_mae: 0.15 } },
    ]);
  });

  it('an evaluate() progress bar after the last epoch does not replace that epoch\'s values', () => {
    const text = 'Epoch 1/1\n4/4 - 0s - loss: 0.5000\n4/4 [==============================] - 0s 1ms/step - loss: 0.1000\n';
    assert.deepEqual(parseStdout(text).epochs, [{ epoch: 1, metrics: { loss: 0.5 } }]);
  });
});
