import type { Command } from 'commander';
import { EXIT } from '../errors';
import { describeCell } from '../grid';
import { expandSearch, type BoundaryState } from '../search';
import { loadSpecAsync } from '../spec';
import { boundaryJson, inSearchShard, runSearch, type BoundaryJson } from '../sweep/search';
import { alignTable, formatDuration, plural, writeErr, writeOut } from './common';
import { addTrainOptions, drive, stoppingHelp, type TrainOptions } from './driver';

export function registerSearch(program: Command): void {
  addTrainOptions(
    program
      .command('search')
      .description("find, per boundary of the spec's search: block, the value of an axis where the convergence rate crosses the target (e.g. the N50 of n_samples per seq_len)")
      .argument('<spec>', 'sweep definition (.yaml) with a search: block'),
    {
      shard: 'search only the i-th of N shares of the boundaries (round-robin in plan order); shards may share one database on one host, or write one each (--db) and be combined with `converge merge`, after which `converge search` on the merged database prints every answer without training',
      json: 'print one JSON object per boundary: for, estimate, ci_low, ci_high, bracketed, verdict, slope, ceiling, runs, probes [{value, k, n}], and with search.budgets a budgets list [{epochs, estimate, ci_low, ci_high, …}]',
      set: 'override a spec key, e.g. --set search.budget=200 --set train.epochs=100 (repeatable; the value is YAML; recorded with the spec in the database)',
    },
  )
    .addHelpText(
      'after',
      `
The search block of the spec:
  search:
    axis: n_samples              # the integer-valued axis searched
    for: {seq_len: [50, 200]}    # one boundary per value (crossed with grid and cases)
    range: [10, seq_len+1]       # inclusive bounds; expressions in the other parameters
    target: 0.5                  # the rate that defines the boundary
    among: alive                 # count runs alive at initialisation (default), or all
    precision: 0.25              # stop when the 95% interval is narrower than 25% of the estimate
    budget: 400                  # at most this many runs per boundary
    budgets: [25, 50, 100]       # optional: one answer per epoch budget from the same runs
  repeats: 4                     # seeds added at a probe per step

Method: a logistic model of the rate in log(axis) fitted by Firth-penalized maximum likelihood,
a 95% profile-likelihood interval for the crossing, and each next probe placed where it shrinks
that interval most. "Not bracketed" (the rate stays above or below the target across the range)
is an answer. Search runs are ordinary runs of the database: report, query, compare and the HTML
report read them. After Ctrl-C or kill -9 the same command resumes with the same answer.

${stoppingHelp('search')}

Examples:
  converge search sweeps/boundary.yaml --workers 2
  converge search sweeps/boundary.yaml --json > boundaries.json
  converge search sweeps/boundary.yaml --set search.precision=0.5 --set 'search.for={seq_len: [100]}'
  converge search sweeps/boundary.yaml --shard 2/4 --db results/boundary-2.db   # one host of four`,
    )
    .action(async (specPath: string, opts: TrainOptions) => {
      process.exitCode = await searchCommand(specPath, opts);
    });
}

function fmt(v: number | null): string {
  return v === null ? '–' : v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/**
 * A step's runs as values and seeds per value, in the words of `converge plan`'s opening design:
 * "n_samples 10, 13, 16, 20, 21 × 4 seeds", or "n_samples 10×4, 13×2" when the counts differ.
 */
export function describeStep(axis: string, runs: readonly { value: number }[]): string {
  const values = [...new Set(runs.map((r) => r.value))];
  const seeds = values.map((v) => runs.filter((r) => r.value === v).length);
  if (seeds.every((n) => n === seeds[0])) return `${axis} ${values.join(', ')} × ${plural(seeds[0]!, 'seed')}`;
  return `${axis} ${values.map((v, i) => `${v}×${seeds[i]}`).join(', ')} (value×seeds)`;
}

function progressLine(axis: string, st: BoundaryState): string {
  const j = boundaryJson(st);
  const where = describeCell(st.boundary.fixed);
  const est = j.estimate !== null ? `, estimate ${fmt(j.estimate)} [${fmt(j.ci_low)}, ${fmt(j.ci_high)}]` : '';
  const next = st.step && !st.step.done && st.step.runs.length ? `; next: ${describeStep(axis, st.step.runs)}` : st.step?.done ? `; done (${j.verdict})` : '';
  return `${where}: ${j.runs}/${st.boundary.settings.budget} runs${est}${next}`;
}

export function formatBoundaries(axis: string, rows: BoundaryJson[], target: number, among: 'alive' | 'all' = 'all'): string {
  const header = ['boundary', 'answer', `${axis} at rate ${target}`, '95% CI', 'runs', `evidence (${axis}: k/n${among === 'alive' ? ', alive at init' : ''})`];
  const body = rows.map((r) => [
    Object.entries(r.for).map(([k, v]) => `${k}=${String(v)}`).join(' ') || '(single)',
    r.bracketed ? 'crosses' : r.verdict === 'above' ? `above ${target} everywhere` : r.verdict === 'below' ? `below ${target} everywhere` : 'undetermined',
    fmt(r.estimate),
    `[${fmt(r.ci_low)}, ${fmt(r.ci_high)}]`,
    String(r.runs),
    r.probes.map((p) => `${p.value}: ${p.k}/${p.n}`).join(', '),
  ]);
  // `runs` counts every run; k/n leave out the runs dead at init, which never train: said in words.
  const legend =
    among === 'alive'
      ? `\n\nk/n: converged of the runs alive at init (the ReLU output not dead before the first update; a run dead at init never trains), the search's rate (among: alive); runs counts every run, dead at init included.`
      : '';
  return alignTable(header, body) + legend;
}

/** With `search.budgets`: one row per boundary and epoch budget, from the same runs re-scored. */
export function formatBudgets(axis: string, rows: BoundaryJson[], target: number): string {
  const header = ['boundary', 'epochs', 'answer', `${axis} at rate ${target}`, '95% CI', 'ceiling'];
  const body = rows.flatMap((r) =>
    (r.budgets ?? []).map((b) => [
      Object.entries(r.for).map(([k, v]) => `${k}=${String(v)}`).join(' ') || '(single)',
      String(b.epochs),
      b.bracketed ? 'crosses' : b.verdict === 'above' ? `above ${target} everywhere` : b.verdict === 'below' ? `below ${target} everywhere` : 'undetermined',
      fmt(b.estimate),
      `[${fmt(b.ci_low)}, ${fmt(b.ci_high)}]`,
      b.ceiling === null ? '–' : b.ceiling.toFixed(2),
    ]),
  );
  return alignTable(header, body);
}

async function searchCommand(specPath: string, opts: TrainOptions): Promise<number> {
  // A module trainer's exports (declarations, metric directions) are read by importing it.
  const spec = await loadSpecAsync(specPath, opts.set);
  const plan = expandSearch(spec); // refuses bad ranges before anything is written
  return drive('search', spec, opts, async (session) => {
    const { db, dbPath } = session;
    const own = opts.shard ? plan.boundaries.filter((_, i) => inSearchShard(i, opts.shard)).length : plan.boundaries.length;
    const share = opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count}: ${own} of ${plan.boundaries.length})` : '';
    session.say(`search ${spec.name}: ${own} boundar${own === 1 ? 'y' : 'ies'}${share} along ${plan.axis} into ${dbPath} with ${plural(session.pool.workers, 'worker')}`);
    const t0 = Date.now();
    const result = await runSearch({
      ...session.executeOptions(),
      db,
      dbPath,
      spec,
      ...(opts.shard ? { shard: opts.shard } : {}),
      onRound: (states) => {
        for (const st of states) session.say(progressLine(plan.axis, st));
      },
      onExecution: (e) => session.track(e),
    });
    const wall = (Date.now() - t0) / 1000;
    const stopped = session.stoppedEarly(result);
    if (stopped !== undefined) return stopped;
    if (result.breaker !== undefined) {
      writeErr(`converge: ${result.breaker}`);
      writeErr(`fix the trainer (its whole output is in ${dbPath}.runs/), then resume with: ${session.resumeHint}`);
      return EXIT.runsFailed;
    }
    const rows = result.states.map(boundaryJson);
    // As run counts its share's failed runs in the database: failed here, earlier, or given up by
    // --max-attempts. Not the observations left out of n (dead at init under among: alive).
    const failed = result.states.reduce((n, st) => n + st.failed, 0);
    if (opts.json) writeOut(JSON.stringify(rows, null, 2));
    else {
      writeOut(formatBoundaries(plan.axis, rows, spec.search!.target, spec.search!.among));
      if (spec.search!.budgets) writeOut(`\nper epoch budget (the same runs, scored as if they had stopped there):\n${formatBudgets(plan.axis, rows, spec.search!.target)}`);
      writeOut(
        `trained ${plural(result.trained, 'run')} in ${formatDuration(wall)}; ${rows.reduce((n, r) => n + r.runs, 0)} runs in the search (${dbPath})` +
          (failed ? `, ${failed} failed (see \`converge query ${dbPath} --where "status=failed"\`; retry with --retries)` : ''),
      );
    }
    return failed > 0 ? EXIT.runsFailed : EXIT.ok;
  });
}
