import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers';

/** The subcommands `converge --help` lists (not commander's own `help`). */
function subcommands(): string[] {
  const help = runCli(['--help']).stdout;
  const from = help.indexOf('Commands:');
  const block = help.slice(from, help.indexOf('\n\n', from));
  return [...block.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

test('every subcommand listed by --help ends its --help with one or more examples that run converge', () => {
  const commands = subcommands();
  assert.ok(commands.length >= 9, commands.join(', '));
  for (const c of commands) {
    const r = runCli([c, '--help']);
    assert.equal(r.code, 0, `${c}: ${r.stderr}`);
    const lines = r.stdout.trimEnd().split('\n');
    const at = lines.map((l) => /^Examples?:$/.test(l)).lastIndexOf(true);
    assert.ok(at >= 0, `${c} --help has an Examples: block:\n${r.stdout}`);
    const examples = lines.slice(at + 1);
    assert.ok(examples.length >= 1, `${c}: at least one example`);
    for (const e of examples) assert.match(e, new RegExp(`^  converge ${c}\\b`), `${c}: the block ends the help and each line is an example of ${c}`);
  }
});
