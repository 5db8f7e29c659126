import type { Command } from 'commander';
import { ConvergeError } from '../errors';
import { sameSpec } from '../spec';
import { closeDb, mergeInto, openDb, readSweep, retryWhileBusySync } from '../store';
import { writeOut } from './common';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine shard databases of one sweep (same spec) into one, without duplicates')
    .argument('<out>', 'database to merge into (created if missing)')
    .argument('<inputs...>', 'shard databases (from `converge run --shard i/N --db …`)')
    .option('--json', 'print the counts as JSON')
    .addHelpText('after', '\nExample:\n  converge merge results/answer-cases.db results/answer-*-of-8.db')
    .action((outFile: string, inputs: string[], opts: { json?: boolean }) => {
      if (inputs.includes(outFile)) throw new ConvergeError('merge.selfInput', `${outFile}: is both the output and an input; choose a new output file`);
      const ins = inputs.map((file) => ({ file, db: openDb(file, { readonly: true }) }));
      try {
        // Refuse mixed inputs before the output file is created or touched.
        const first = readSweep(ins[0]!.db, ins[0]!.file);
        for (const i of ins.slice(1)) {
          const s = readSweep(i.db, i.file);
          if (s.name !== first.name || !sameSpec({ hash: s.specHash, text: s.specText }, { hash: first.specHash, text: first.specText })) {
            throw new ConvergeError(
              'merge.otherSweep',
              `${i.file}: is sweep "${s.name}" (spec ${s.specHash.slice(0, 12)}), but ${ins[0]!.file} is "${first.name}" (spec ${first.specHash.slice(0, 12)}); only shards of one sweep (same spec) can be merged`,
            );
          }
        }
        const out = openDb(outFile);
        try {
          const r = retryWhileBusySync('merge', () => mergeInto(out, outFile, ins));
          if (opts.json) writeOut(JSON.stringify(r));
          else writeOut(`merged ${r.inputs} databases into ${outFile}: ${r.runsAdded} runs added, ${r.runsReplaced} replaced by a finished copy, ${r.runsSkipped} already present`);
        } finally {
          closeDb(out);
        }
      } finally {
        for (const i of ins) i.db.close();
      }
    });
}
