import type { Command } from 'commander';
import { describeCell, estimatePlanSeconds, expandPlan, type Plan } from '../grid';
import { loadSpec } from '../spec';
import { thinValidationWarning, type Rule } from '../outcome';
import { alignTable, collect, formatDuration, positiveInt, writeErr, writeOut } from './common';
import { defaultWorkers } from '../pool/pool';

/** Cells whose validation split is too thin for the spec's rule (when the rule is a validation metric). */
function planWarnings(plan: Plan, rule: Rule): string[] {
  return plan.cells.flatMap((c) => thinValidationWarning(rule, describeCell(c.axisValues), c.params) ?? []);
}

export function planToJson(plan: Plan, rule?: Rule, workers = defaultWorkers()) {
  return {
    name: plan.name,
    ...(rule ? { warnings: planWarnings(plan, rule) } : {}),
    axes: plan.axes,
    cells: plan.cells.length,
    run_count: plan.runs.length,
    timestep_epochs: plan.timestepEpochs,
    /** From the cost model (src/grid/cost.ts), on `estimate_workers` worker threads. */
    estimated_seconds: estimatePlanSeconds(plan, workers),
    estimate_workers: workers,
    skipped: plan.skipped.map((s) => ({ cell: s.axisValues, reason: s.reason })),
    runs: plan.runs.map((r) => ({ run_key: r.runKey, cell: describeCell(Object.fromEntries(plan.axes.map((a) => [a, r.params[a]]))), seed: r.seed, params: r.params })),
  };
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('expand a sweep into its runs (cell × seed) without training anything')
    .argument('<spec>', 'sweep definition (.yaml)')
    .option('--json', 'print the plan as JSON (every run with its key, seed and resolved parameters)')
    .option('-w, --workers <n>', 'worker threads the time estimate assumes (as for `run`)', positiveInt('--workers'), defaultWorkers())
    .option('--set <key=value>', 'override a spec key, e.g. --set train.epochs=100 --set grid.n_samples=[80,130] (repeatable; the value is YAML)', collect, [])
    .addHelpText('after', '\nExample:\n  converge plan sweeps/seed-finding.yaml\n  converge plan sweeps/smoke.yaml --json | jq .run_count\n  converge plan sweeps/smoke.yaml --set train.epochs=100 --set grid.n_samples=[10,20]')
    .action((specPath: string, opts: { json?: boolean; set: string[]; workers: number }) => {
      const spec = loadSpec(specPath, opts.set);
      const plan = expandPlan(spec);
      if (opts.json) {
        writeOut(JSON.stringify(planToJson(plan, spec.converged, opts.workers), null, 2));
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
