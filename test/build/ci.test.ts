import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers';

test("CI runs exactly the README's test command (its second line)", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /^```\n([^\n]*)\n([^\n]*)\n```/m.exec(readme);
  assert.ok(block, 'README.md starts with a block of the two commands');
  const command = block[2]!.split('#')[0]!.trim();
  assert.match(command, /npm test$/);
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !/^(set |cd )/.test(l));
  assert.deepEqual(ci, [command]);
});
