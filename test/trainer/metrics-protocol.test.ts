import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsStream, parseMetricsLine, type ProtocolWarning } from '../../src/trainer';

function fileStream(lines: string[]) {
  const warnings: ProtocolWarning[] = [];
  const failures: string[] = [];
  const stream = new MetricsStream({ onWarning: (w) => warnings.push(w), onFailure: (r) => failures.push(r) });
  lines.forEach((line, i) => stream.pushFileLine(line, i + 1));
  stream.end();
  return { stream, warnings, failures };
}

describe('the metrics protocol', () => {
  it('a JSON line with an epoch and numbers is one epoch record', () => {
    assert.deepEqual(parseMetricsLine('{"epoch": 3, "loss": 0.21, "val_loss": 0.25}'), { ok: true, record: { epoch: 3, metrics: { loss: 0.21, val_loss: 0.25 } } });
  });

  it('NaN and Infinity, as Python json.dumps writes them or as strings, are stored as null', () => {
    // json.dumps({"epoch": 1, "loss": float("nan"), ...}) in Python writes bare NaN / Infinity / -Infinity tokens.
    assert.deepEqual(parseMetricsLine('{"epoch": 1, "loss": NaN, "a": Infinity, "b": -Infinity, "c": "nan", "d": "-inf", "e": null, "note_NaN": 1}'), {
      ok: true,
      record: { epoch: 1, metrics: { loss: null, a: null, b: null, c: null, d: null, e: null, note_NaN: 1 } },
    });
  });

  it('a line that is not an object of numbers says why', () => {
    assert.deepEqual(parseMetricsLine('loss=0.3'), { ok: false, reason: 'is not JSON' });
    assert.deepEqual(parseMetricsLine('[1, 2]'), { ok: false, reason: 'is not a JSON object' });
    assert.deepEqual(parseMetricsLine('{"loss": 0.3}'), { ok: false, reason: 'has no "epoch"' });
    assert.deepEqual(parseMetricsLine('{"epoch": 1.5, "loss": 0.3}'), { ok: false, reason: 'has "epoch": 1.5, expected a whole number from 1' });
    assert.deepEqual(parseMetricsLine('{"epoch": 1, "phase": "train"}'), { ok: false, reason: 'has "phase": "train", expected a number' });
    assert.deepEqual(parseMetricsLine('{"epoch": 1, "loss": "0.3"}'), { ok: false, reason: 'has "loss": "0.3", expected a number' });
  });

  it('a metrics line that is not JSON is warned about once, with its line number, and the run goes on', () => {
    const { stream, warnings, failures } = fileStream(['{"epoch": 1, "loss": 0.5}', 'Traceback (most recent call last):', '{"epoch": 2, "loss": 0.4}', 'oops', '', '{"epoch": 3, "loss": 0.3}']);
    assert.deepEqual(
      stream.epochs.map((e) => e.epoch),
      [1, 2, 3],
    );
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0], {
      source: 'metrics-file',
      line: 2,
      message: 'CONVERGE_METRICS line 2 is not JSON ("Traceback (most recent call last):"); skipped, and later bad lines are only counted',
    });
    assert.equal(stream.badLines, 2);
    assert.deepEqual(failures, []);
  });

  it('an epoch reported twice fails the run with that reason, and nothing after it is accepted', () => {
    const { stream, failures } = fileStream(['{"epoch": 1, "loss": 0.5}', '{"epoch": 2, "loss": 0.4}', '{"epoch": 2, "loss": 0.4}', '{"epoch": 3, "loss": 0.3}']);
    assert.equal(stream.failure, 'CONVERGE_METRICS line 3: epoch 2 reported twice');
    assert.deepEqual(failures, [stream.failure]);
    assert.deepEqual(
      stream.epochs.map((e) => e.epoch),
      [1, 2],
    );
  });

  it('epochs reported out of order fail the run with that reason', () => {
    const { stream } = fileStream(['{"epoch": 5, "loss": 0.5}', '{"epoch": 3, "loss": 0.4}']);
    assert.equal(stream.failure, 'CONVERGE_METRICS line 2: epoch 3 reported after epoch 5; epochs must increase');
  });

  it('epoch 0 fails the run with a hint about Keras callbacks counting from 0', () => {
    const { stream } = fileStream(['{"epoch": 0, "loss": 0.5}']);
    assert.match(stream.failure ?? '', /epoch 0; epochs count from 1 \(Keras' on_epoch_end\(epoch\) counts from 0: report epoch \+ 1\)/);
  });

  it('epochs may skip (every 5th epoch reported)', () => {
    const { stream } = fileStream(['{"epoch": 5, "loss": 0.5}', '{"epoch": 10, "loss": 0.4}']);
    assert.equal(stream.failure, undefined);
    assert.equal(stream.epochs.length, 2);
  });

  it('stdout lines after the converge: prefix are records; other stdout lines are ignored', () => {
    const warnings: ProtocolWarning[] = [];
    const stream = new MetricsStream({ onWarning: (w) => warnings.push(w) });
    ['loading data', 'converge: {"epoch": 1, "loss": 0.5}', '  converge:{"epoch": 2, "loss": 0.4}', 'not converge: {"epoch": 9}', 'converge: starting'].forEach((l, i) => stream.pushStdoutLine(l, i + 1));
    stream.end();
    assert.deepEqual(stream.epochs, [
      { epoch: 1, metrics: { loss: 0.5 } },
      { epoch: 2, metrics: { loss: 0.4 } },
    ]);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.message, 'stdout line 5 is not JSON ("starting"); skipped, and later bad lines are only counted');
  });

  it('a script that writes CONVERGE_METRICS from a Keras callback and prints Keras lines is recorded once, with the callback\'s values', () => {
    const stream = new MetricsStream();
    // Keras' progress bar prints epoch 1 before the user's callback writes it: the Keras value is held back, then dropped.
    stream.pushStdoutLine('Epoch 1/2', 1);
    stream.pushStdoutLine(' - 0s - loss: 0.5000', 2);
    stream.pushFileLine('{"epoch": 1, "loss": 0.49999871}', 1);
    stream.pushStdoutLine('Epoch 2/2', 3);
    stream.pushStdoutLine(' - 0s - loss: 0.4000', 4);
    stream.pushFileLine('{"epoch": 2, "loss": 0.40000123}', 2);
    stream.end();
    assert.deepEqual(stream.epochs, [
      { epoch: 1, metrics: { loss: 0.49999871 } },
      { epoch: 2, metrics: { loss: 0.40000123 } },
    ]);
    assert.equal(stream.failure, undefined);
  });

  it('each epoch is passed on as soon as it is accepted', () => {
    const seen: number[] = [];
    const stream = new MetricsStream({ onEpoch: (r) => seen.push(r.epoch) });
    stream.pushFileLine('{"epoch": 1, "loss": 0.5}', 1);
    assert.deepEqual(seen, [1]);
    stream.pushStdoutLine('converge: {"epoch": 2, "loss": 0.5}', 1);
    assert.deepEqual(seen, [1, 2]);
  });
});
