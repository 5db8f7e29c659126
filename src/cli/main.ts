#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { writeFileSync } from 'node:fs';
import { EXIT, isConvergeError } from '../errors';
import { sweepJsonSchema } from '../spec';
import { lastOpenedDb, translateSqliteError } from '../store';
import { watchOutputPipes, writeErr, writeOut } from './common';
import { registerMerge } from './merge';
import { registerPlan } from './plan';
import { registerReadCommands } from './read-commands';
import { registerRun } from './run';
import { registerSearch } from './search';
import { registerStatus } from './status';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('converge')
    .description('Under which settings does this network actually converge?\nSweep a grid of LSTM trainings over a thread pool, record every run and epoch in SQLite, compare cells with honest statistics.')
    .version((require('../../../package.json') as { version: string }).version)
    .option('--verbose', 'print stack traces of errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Typical session:
  converge plan sweeps/smoke.yaml          # what would run
  converge run sweeps/smoke.yaml           # train (resumable), into results/smoke.db
  converge status results/smoke.db         # progress, also while it runs
  converge report results/smoke.db         # per cell: k/n converged, 95% CI, pop_mae`,
    );
  registerPlan(program);
  registerRun(program);
  registerSearch(program);
  registerStatus(program);
  registerReadCommands(program);
  registerMerge(program);
  program
    .command('schema')
    .description('print (or write) the JSON Schema of the sweep format, for editor validation and completion')
    .option('-o, --out <file>', 'write to a file')
    .addHelpText(
      'after',
      `
Examples:
  converge schema --out sweep.schema.json
  converge schema | jq '.properties | keys'`,
    )
    .action((opts: { out?: string }) => {
      const text = `${JSON.stringify(sweepJsonSchema(), null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, text);
      else writeOut(text);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  watchOutputPipes();
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      writeErr(`converge: ${e.message.replace(/^error: /, '')}`);
      return EXIT.badInput;
    }
    if (isConvergeError(e)) {
      writeErr(`converge: ${e.message} [${e.code}]`);
      if (verbose && e.stack) writeErr(e.stack);
      return e.exitCode;
    }
    if (/^SQLITE_(CORRUPT|NOTADB)/.test((e as { code?: unknown }).code as string)) {
      // Readers meet a damaged page only when a query reads it, after openDb succeeded; say what
      // it is and what to do, as openDb does, instead of "unexpected error".
      const err = translateSqliteError(lastOpenedDb() ?? 'the database', e);
      writeErr(`converge: ${err.message} [${err.code}]`);
      if (verbose) writeErr((e as Error).stack ?? '');
      return err.exitCode;
    }
    writeErr(`converge: unexpected error: ${(e as Error).message ?? String(e)} (run with --verbose for the stack trace)`);
    if (verbose) writeErr((e as Error).stack ?? '');
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
