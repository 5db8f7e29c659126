import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrainPool } from '../../src/pool/pool';

describe('the training pool', () => {
  it('a result Piscina can no longer match to a task (an aborted run that finished in the same instant) does not crash the process', async () => {
    const pool = new TrainPool({ workers: 1 });
    try {
      // What Piscina emits in that race (dist/index.js onMessage). Without a listener an
      // EventEmitter rethrows 'error', which ended `converge run … | head -1` with exit 1.
      const piscina = (pool as unknown as { piscina: { emit(e: string, x: unknown): boolean } }).piscina;
      assert.doesNotThrow(() => piscina.emit('error', new Error('Unexpected message from Worker: {taskId: 2}')));
      assert.equal(pool.strayErrors.length, 1);
    } finally {
      await pool.destroy();
    }
  });
});
