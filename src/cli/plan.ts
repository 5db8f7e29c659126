import type { Command } from 'commander';
import { describeCell, estimatePlanSeconds, estimateRunSeconds, expandPlan, type Plan } from '../grid';
import { expandSearch, nextSearchStep, searchRun } from '../search';
import { loadSpecAsync, type SweepSpec } from '../spec';
import { formatRule, thinValidationWarning, type Rule } from '../outcome';
import { formatCommandLine } from '../trainer';
import { alignTable, collect, formatDuration, plural, positiveInt, writeErr, writeOut } from './common';
import { defaultWorkers } from '../pool/pool';

/** Cells whose validation split is too thin for the spec's rule (when the rule is a validation metric). */
function planWarnings(plan: Plan, rule: Rule): string[] {
  // Only the built-in trainer has a validation split (timestep-epochs are its work measure too).
  if (plan.cells.length > 0 && plan.cells[0]!.params.seq_len === undefined) return [];
  return plan.cells.flatMap((c) => thinValidationWarning(rule, describeCell(c.axisValues), c.params) ?? []);
}

export function planToJson(plan: Plan, rule?: Rule, workers = defaultWorkers(), trainer: SweepSpec['trainer']['kind'] = 'builtin') {
  const builtin = trainer === 'builtin';
  return {
    name: plan.name,
    ...(builtin ? {} : { trainer }),
    ...(rule ? { warnings: planWarnings(plan, rule) } : {}),
    axes: plan.axes,
    cells: plan.cells.length,
    run_count: plan.runs.length,
    // A user trainer's work and time are unknown before it runs: null, not a guess.
    timestep_epochs: builtin ? plan.timestepEpochs : null,
    /** From the cost model (src/grid/cost.ts), on `estimate_workers` worker threads. */
    estimated_seconds: builtin ? estimatePlanSeconds(plan, workers) : null,
    estimate_workers: workers,
    skipped: plan.skipped.map((s) => ({ cell: s.axisValues, reason: s.reason })),
    runs: plan.runs.map((r) => ({ run_key: r.runKey, cell: describeCell(Object.fromEntries(plan.axes.map((a) => [a, r.params[a]]))), seed: r.seed, params: r.params })),
  };
}

/**
 * A search spec's plan: per boundary its range, budget and opening design (the first round the
 * search trains, whatever the results: nextSearchStep with no observations), and time estimates
 * for the opening design and for the whole budget at the costlier end of the range (the cost
 * model is monotone along n_samples and seq_len; a search usually stops before its budget).
 */
export function searchPlanToJson(spec: SweepSpec, workers = defaultWorkers()) {
  const plan = expandSearch(spec);
  const builtin = spec.trainer.kind === 'builtin';
  const spread = (seconds: number, runs: number) => seconds / Math.max(1, Math.min(workers, runs));
  const boundaries = plan.boundaries.map((b) => {
    const opening = nextSearchStep(b.settings, []).runs;
    const cost = (value: number) => estimateRunSeconds(searchRun(spec, plan, b, value, 0).params);
    const values = [...new Set(opening.map((r) => r.value))];
    return {
      for: b.fixed,
      range: [b.settings.lo, b.settings.hi] as [number, number],
      budget: b.settings.budget,
      opening: values.map((value) => ({ value, seeds: opening.filter((r) => r.value === value).length })),
      opening_runs: opening.length,
      openingSeconds: opening.reduce((t, r) => t + cost(r.value), 0),
      budgetSeconds: b.settings.budget * Math.max(cost(b.settings.lo), cost(b.settings.hi)),
    };
  });
  const openingRuns = boundaries.reduce((n, b) => n + b.opening_runs, 0);
  const maxRuns = boundaries.reduce((n, b) => n + b.budget, 0);
  return {
    name: spec.name,
    search: true,
    axis: plan.axis,
    target: spec.search!.target,
    opening_runs: openingRuns,
    max_runs: maxRuns,
    /** From the cost model (src/grid/cost.ts), on `estimate_workers` worker threads. */
    // A user trainer's time is unknown before it runs: null, not a guess.
    estimated_seconds_opening: builtin ? spread(boundaries.reduce((t, b) => t + b.openingSeconds, 0), openingRuns) : null,
    estimated_seconds_max: builtin ? spread(boundaries.reduce((t, b) => t + b.budgetSeconds, 0), maxRuns) : null,
    estimate_workers: workers,
    boundaries: boundaries.map(({ openingSeconds: _o, budgetSeconds: _b, ...rest }) => rest),
  };
}

function printSearchPlan(spec: SweepSpec, workers: number): void {
  const j = searchPlanToJson(spec, workers);
  const n = j.boundaries.length;
  writeOut(`search ${j.name}: ${n} boundar${n === 1 ? 'y' : 'ies'} along ${j.axis} (rate ${j.target}); the opening design is ${plural(j.opening_runs, 'run')}, the budget at most ${j.max_runs}`);
  const rows = j.boundaries.map((b) => [
    describeCell(b.for) || '(single)',
    `[${b.range[0]}, ${b.range[1]}]`,
    b.opening.map((o) => `${o.value}×${o.seeds}`).join(', '),
    String(b.budget),
  ]);
  writeOut(alignTable(['boundary', `${j.axis} range`, `opening design (${j.axis}×seeds)`, 'budget'], rows));
  if (j.estimated_seconds_opening === null || j.estimated_seconds_max === null) {
    writeOut("estimated time: unknown (your trainer's speed is measured once it runs; `converge status` shows the pace)");
    return;
  }
  writeOut(
    `estimated time: the opening design ~${formatDuration(j.estimated_seconds_opening)}, the whole budget at most ~${formatDuration(j.estimated_seconds_max)} ` +
      `on ${plural(workers, 'worker')} (cost model of src/grid/cost.ts; a search stops once its interval is narrow enough, usually well before its budget)`,
  );
}

/** A module or command trainer's plan: its cells by declared parameter, the trainer and the rule. */
function printUserPlan(spec: SweepSpec, plan: Plan): void {
  const t = spec.trainer;
  const trainer = t.kind === 'module' ? `module ${t.written}` : t.kind === 'command' ? `command ${formatCommandLine(t.command)}` : 'builtin';
  const fixed = Object.keys(spec.declared)
    .filter((n) => !plan.axes.includes(n as never))
    .sort()
    .map((n) => `${n}=${String((spec.base as Record<string, unknown>)[n])}`);
  const runsPerCell = new Map<string, number>();
  for (const r of plan.runs) runsPerCell.set(r.cellKey, (runsPerCell.get(r.cellKey) ?? 0) + 1);
  writeOut(`sweep ${plan.name}: ${plural(plan.cells.length, 'cell')} × seeds = ${plural(plan.runs.length, 'run')}, trained by the ${trainer}`);
  writeOut(`rule: converged when ${formatRule(spec.converged)}${fixed.length ? `; fixed: ${fixed.join(' ')}` : ''}`);
  const rows = plan.cells.map((c) => [...plan.axes.map((a) => String(c.axisValues[a])), String(runsPerCell.get(c.cellKey) ?? 0)]);
  writeOut(alignTable([...plan.axes, 'runs'], rows));
  writeOut("estimated time: unknown (your trainer's speed is measured once it runs; `converge status` shows the pace)");
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('expand a sweep into its runs (cell × seed), or a search into its boundaries and opening design, without training anything')
    .argument('<spec>', 'sweep definition (.yaml)')
    .option('--json', 'print the plan as JSON (every run with its key, seed and resolved parameters)')
    .option('-w, --workers <n>', 'worker threads the time estimate assumes (as for `run`)', positiveInt('--workers'), defaultWorkers())
    .option('--set <key=value>', 'override a spec key, e.g. --set train.epochs=100 --set grid.n_samples=[80,130] (repeatable; the value is YAML)', collect, [])
    .addHelpText('after', '\nExample:\n  converge plan sweeps/seed-finding.yaml\n  converge plan sweeps/smoke.yaml --json | jq .run_count\n  converge plan sweeps/smoke.yaml --set train.epochs=100 --set grid.n_samples=[10,20]')
    .action(async (specPath: string, opts: { json?: boolean; set: string[]; workers: number }) => {
      const spec = await loadSpecAsync(specPath, opts.set);
      if (spec.search) {
        if (opts.json) writeOut(JSON.stringify(searchPlanToJson(spec, opts.workers), null, 2));
        else printSearchPlan(spec, opts.workers);
        return;
      }
      const plan = expandPlan(spec);
      if (opts.json) {
        writeOut(JSON.stringify(planToJson(plan, spec.converged, opts.workers, spec.trainer.kind), null, 2));
        return;
      }
      if (spec.trainer.kind !== 'builtin') {
        printUserPlan(spec, plan);
        return;
      }
      for (const w of planWarnings(plan, spec.converged)) writeErr(w);
      const runsPerCell = new Map<string, number>();
      for (const r of plan.runs) runsPerCell.set(r.cellKey, (runsPerCell.get(r.cellKey) ?? 0) + 1);
      const rows = plan.cells.map((c) => [
        ...plan.axes.map((a) => String(c.axisValues[a])),
        String(runsPerCell.get(c.cellKey) ?? 0),
        c.params.engine,
      ]);
      writeOut(`sweep ${plan.name}: ${plan.cells.length} cells × seeds = ${plan.runs.length} runs, ${plan.timestepEpochs.toExponential(2)} timestep-epochs`);
      writeOut(alignTable([...plan.axes, 'runs', 'engine'], rows));
      writeOut(
        `estimated time: ~${formatDuration(estimatePlanSeconds(plan, opts.workers))} on ${opts.workers} worker${opts.workers === 1 ? '' : 's'} ` +
          '(cost model of src/grid/cost.ts, from the µs per timestep `npm run bench` measures; runs dead from initialisation take less)',
      );
      if (plan.skipped.length) {
        writeOut(`skipped ${plan.skipped.length} impossible cell(s):`);
        for (const s of plan.skipped) writeOut(`  ${describeCell(s.axisValues)}: ${s.reason}`);
      }
    });
}
