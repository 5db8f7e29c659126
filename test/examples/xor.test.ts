import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SWEEP_SEEDS, collectingContext, convergedRuns, importExample, type Reported } from './xor-module';

const xor = importExample('xor', 'xor.mjs');

async function train(params: Record<string, unknown>, seed: number): Promise<Reported[]> {
  const { ctx, epochs } = collectingContext(seed);
  await (await xor).train(params, ctx);
  return epochs;
}

describe('examples/xor/xor.mjs, the module trainer', () => {
  it('exports train, its declared parameters with defaults and bounds, and the directions of loss and accuracy', async () => {
    const m = await xor;
    assert.equal(typeof m.train, 'function');
    assert.deepEqual(m.metrics, { loss: 'below', accuracy: 'above' });
    assert.deepEqual(Object.keys(m.params ?? {}).sort(), ['epochs', 'hidden', 'learning_rate', 'report_every']);
    assert.deepEqual(m.params?.hidden, { type: 'integer', default: 2, min: 1 });
    for (const p of Object.values(m.params ?? {})) assert.ok(p.default !== undefined, 'every parameter has a default');
  });

  it('reports {loss, accuracy} at every epoch from 1 to epochs, the accuracy a fraction of the four patterns', async () => {
    const epochs = await train({ hidden: 3, learning_rate: 2, epochs: 60 }, 1);
    assert.deepEqual(
      epochs.map((e) => e.epoch),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    for (const e of epochs) {
      assert.deepEqual(Object.keys(e.metrics), ['loss', 'accuracy']);
      assert.ok(e.metrics.loss! >= 0 && e.metrics.loss! <= 1);
      assert.ok([0, 0.25, 0.5, 0.75, 1].includes(e.metrics.accuracy!));
    }
  });

  it('with report_every 7 it reports every 7th epoch and the last one, in strictly increasing order', async () => {
    const epochs = await train({ hidden: 2, learning_rate: 2, epochs: 50, report_every: 7 }, 3);
    assert.deepEqual(
      epochs.map((e) => e.epoch),
      [7, 14, 21, 28, 35, 42, 49, 50],
    );
  });

  it('the same seed trains the same numbers and another seed other numbers', async () => {
    const params = { hidden: 2, learning_rate: 2, epochs: 200 };
    const [a, b, c] = await Promise.all([train(params, 5), train(params, 5), train(params, 6)]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('an abort seen in report() ends the run at that epoch: train rejects and reports nothing after it', async () => {
    const controller = new AbortController();
    const { ctx, epochs } = collectingContext(1, controller.signal, (r) => {
      if (r.epoch === 150) controller.abort(new Error('stopped by the test'));
    });
    await assert.rejects((await xor).train({ hidden: 2, learning_rate: 2, epochs: 1000 }, ctx), /stopped by the test/);
    assert.equal(epochs.at(-1)?.epoch, 150);
  });

  it('an abort from outside (a timer, as Ctrl-C or --timeout) reaches a long run while it trains', async () => {
    const controller = new AbortController();
    const { ctx, epochs } = collectingContext(1, controller.signal);
    // Fires only once the run yields to the event loop: the module must yield during training.
    setImmediate(() => controller.abort(new Error('timed out')));
    await assert.rejects((await xor).train({ hidden: 2, learning_rate: 2, epochs: 10_000_000 }, ctx), /timed out/);
    assert.ok(epochs.length > 0 && epochs.length < 10_000_000, `${epochs.length} epochs reported`);
  });

  it('an already aborted signal rejects before any epoch is reported', async () => {
    const { ctx, epochs } = collectingContext(1, AbortSignal.abort(new Error('never started')));
    await assert.rejects((await xor).train({ hidden: 2, learning_rate: 2, epochs: 10 }, ctx), /never started/);
    assert.deepEqual(epochs, []);
  });

  it("over the sweep's 20 seeds, H=2 leaves some runs stuck in a local minimum while H=4 learns XOR every time (learning rate 2, 1000 epochs)", async () => {
    const finalLoss = async (hidden: number, seed: number) => (await train({ hidden, learning_rate: 2, epochs: 1000 }, seed)).at(-1)!.metrics.loss!;
    const h2 = await Promise.all(SWEEP_SEEDS.map((s) => finalLoss(2, s)));
    const h4 = await Promise.all(SWEEP_SEEDS.map((s) => finalLoss(4, s)));
    const ok2 = convergedRuns(h2);
    assert.ok(ok2 > 0 && ok2 < 20, `${ok2} of 20 converged at H=2`);
    // Stuck, not slow: a failed run's loss sits far above the rule's 0.05.
    for (const l of h2.filter((x) => x >= 0.05)) assert.ok(l > 0.1, `a failed run's loss is ${l}`);
    assert.equal(convergedRuns(h4), 20);
  });
});
