/**
 * `converge` with a user trainer, for the end-to-end tests below, until the spec loader reads
 * `trainer:` itself (H1, issue 18): the built-in spec the test writes is loaded as usual (loadSpecAsync), then its
 * trainer is replaced by CONVERGE_TEST_TRAINER (JSON of a TrainerSpec). Everything after loading
 * (the CLI, the driver, signals, the database) is the real code. Delete once `trainer:` loads.
 */
import type { SweepSpec } from '../../src/spec';
import { main } from '../../src/cli/main';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('../../src/spec/module-exports') as { loadSpecAsync: (file: string, set?: string[]) => Promise<SweepSpec> };
const original = load.loadSpecAsync;
load.loadSpecAsync = async (file, set) => ({ ...(await original(file, set)), trainer: JSON.parse(process.env.CONVERGE_TEST_TRAINER ?? '{"kind":"builtin"}') as SweepSpec['trainer'] });

void main(process.argv).then((code) => {
  process.exitCode = code;
});
