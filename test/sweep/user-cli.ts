/**
 * `converge` with a user trainer, for the end-to-end tests of this folder, until the store can
 * hold user-trainer runs (migration 6, H2, issue 18): the built-in spec the test writes is loaded
 * and planned as usual (so its runs fit schema 5's NOT NULL built-in columns), then its trainer is
 * replaced by CONVERGE_TEST_TRAINER (JSON of a TrainerSpec) for execution. Everything else (the
 * CLI, the driver, signals, the database) is the real code. Once migration 6 is merged, the tests
 * can write `trainer:` in their sweep files and run the real binary instead.
 */
import type { SweepSpec } from '../../src/spec';
import { main } from '../../src/cli/main';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('../../src/spec/module-exports') as { loadSpecAsync: (file: string, set?: string[]) => Promise<SweepSpec> };
const original = load.loadSpecAsync;
load.loadSpecAsync = async (file, set) => ({ ...(await original(file, set)), trainer: JSON.parse(process.env.CONVERGE_TEST_TRAINER ?? '{"kind":"builtin"}') as SweepSpec['trainer'] });

// eslint-disable-next-line @typescript-eslint/no-require-imports
const grid = require('../../src/grid/expand') as { expandPlan: (spec: SweepSpec) => unknown };
const plan = grid.expandPlan;
grid.expandPlan = (spec) => plan({ ...spec, trainer: { kind: 'builtin' }, declared: {} });

void main(process.argv).then((code) => {
  process.exitCode = code;
});
