import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleSeries, escapeHtml, MAX_CURVE_POINTS, MAX_RUN_LINES, pointsPerRun, renderHtmlReport, summarizeCells, varyingAxes, wrapPairs } from '../../src/report';
import { OUTCOMES } from '../../src/report';
import type { Outcome, ParamValue, ReportInput, RunRow } from '../../src/report';

// Structure and safety checks on the HTML string; html-chromium.test.ts checks it in a browser.

let nextId = 1;
function run(params: Record<string, ParamValue>, outcome: Outcome): RunRow {
  const id = nextId++;
  return {
    id, runKey: `k${id}`, seed: id, params, status: 'done', outcome, finalValMae: outcome === 'converged' ? 0.01 : 0.25,
    finalLoss: 0.1, convergedEpoch: outcome === 'converged' ? 12 : null, epochsRun: 20, seconds: 1,
  };
}
async function render(input: ReportInput): Promise<string> {
  return renderHtmlReport(input, summarizeCells(input));
}

test('escapeHtml escapes the five HTML metacharacters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('the report is one self-contained document with no scripts and no external resources', async () => {
  const runs = [run({ seq_len: 200, n_samples: 80 }, 'converged'), run({ seq_len: 200, n_samples: 130 }, 'dead')];
  const html = await render({ sweepName: 's', axes: ['n_samples', 'seq_len'], runs, threshold: 0.05, metric: 'val_mae' });
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i, 'nothing is fetched');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.equal(html.match(/<svg/g)?.length, 2, 'rate chart and outcomes; no learning curves without epochs');
  assert.doesNotMatch(html, /Learning curves/);
});

test('markup in the sweep name and in parameter values is shown as text, not interpreted', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  const runs = [run({ kernel_initializer: evil, seq_len: 200 }, 'converged'), run({ kernel_initializer: 'orthogonal', seq_len: 200 }, 'dead')];
  const html = await render({ sweepName: `<script>alert(1)</script>`, axes: ['kernel_initializer', 'seq_len'], runs, threshold: 0.05, metric: 'val_mae' });
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /<img src=x/, 'neither in the HTML table nor inside the SVG text');
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('a sweep with one axis gets a bar chart with k/n labels instead of a heatmap', async () => {
  const runs = [run({ batch_size: 1 }, 'converged'), run({ batch_size: 1 }, 'converged'), run({ batch_size: 32 }, 'dead')];
  const html = await render({ sweepName: 's', axes: ['batch_size'], runs, threshold: 0.05, metric: 'val_mae' });
  assert.match(html, /<h2>Convergence rate<\/h2>/);
  assert.match(html, />2\/2</);
  assert.match(html, />0\/1</);
});

test('a sweep without axes, with epochs, still renders all sections', async () => {
  const runs = [run({}, 'converged'), run({}, 'not_converged')];
  const epochs = runs.flatMap((r) => [1, 2, 3].map((e) => ({ runId: r.id, epoch: e, loss: 1, mae: 1, valLoss: 1, valMae: r.outcome === 'converged' ? 0.2 / e : 0.25, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, seconds: 1 })));
  const html = await render({ sweepName: 's', axes: [], runs, epochs, threshold: 0.05, metric: 'val_mae' });
  assert.equal(html.match(/<svg/g)?.length, 3);
  assert.match(html, /id="learning-curves"/);
  assert.match(html, /all runs/);
});

test('the heatmap falls back to the first two axes when seq_len and n_samples are not both swept', async () => {
  const runs = [run({ batch_size: 1, units: 10 }, 'converged'), run({ batch_size: 32, units: 20 }, 'dead')];
  const html = await render({ sweepName: 's', axes: ['batch_size', 'units'], runs, threshold: 0.05, metric: 'val_mae' });
  assert.match(html, /Convergence rate by batch_size × units/);
});

test('downsampleSeries keeps at most max points, the first and the last, and drops only flat repeats first', () => {
  const flat = Array.from({ length: 50 }, (_, i) => ({ x: i + 1, y: 0.5 }));
  assert.deepEqual(downsampleSeries(flat, 100), [flat[0], flat[49]], 'a stuck run is two points, losslessly');
  const noisy = Array.from({ length: 1000 }, (_, i) => ({ x: i + 1, y: Math.sin(i) + 2 }));
  const d = downsampleSeries(noisy, 100);
  assert.equal(d.length, 100);
  assert.equal(d[0], noisy[0]);
  assert.equal(d[99], noisy[999]);
  assert.ok(d.every((p, i) => i === 0 || p.x > d[i - 1]!.x), 'in order, no point twice');
  assert.deepEqual(downsampleSeries(noisy.slice(0, 50), 100), noisy.slice(0, 50), 'short series are kept whole');
});

test('panel titles name only the axes that vary; an axis a filter pinned is not repeated in every title', async () => {
  const runs = [
    run({ batch_size: 1, n_samples: 80, seq_len: 200, units: 10 }, 'converged'),
    run({ batch_size: 1, n_samples: 130, seq_len: 200, units: 20 }, 'dead'),
  ];
  const epochs = runs.flatMap((r) => [1, 2].map((e) => ({ runId: r.id, epoch: e, loss: 1, mae: 1, valLoss: 1, valMae: 0.1 / e, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, seconds: 1 })));
  const html = await render({ sweepName: 's', axes: ['batch_size', 'n_samples', 'seq_len', 'units'], runs, epochs, threshold: 0.05, metric: 'val_mae' });
  assert.equal(varyingAxes(['batch_size', 'n_samples', 'seq_len', 'units'], summarizeCells({ sweepName: 's', axes: ['batch_size', 'n_samples', 'seq_len', 'units'], runs, threshold: 0.05, metric: 'val_mae' })).join(), 'n_samples,units');
  const curves = html.slice(html.indexOf('id="learning-curves"'));
  assert.match(curves, /<tspan>n_samples=80 units=10<\/tspan>/);
  assert.doesNotMatch(curves, /batch_size=1|seq_len=200/);
  // One threshold rule a panel, not one per point.
  assert.equal(curves.match(/stroke-dasharray="4,3"/g)?.length, 2);
});

test('wrapPairs breaks a cell key between pairs', () => {
  assert.deepEqual(wrapPairs('batch_size=1 kernel_gain=0.01 kernel_initializer=orthogonal n_samples=50', 30), [
    'batch_size=1 kernel_gain=0.01', 'kernel_initializer=orthogonal', 'n_samples=50',
  ]);
});

test('budget curves get a panel per cell with a converged run at some budget; flat cells are counted, not drawn', async () => {
  const runs = [run({ batch_size: 1 }, 'converged'), run({ batch_size: 32 }, 'dead')];
  const input = { sweepName: 's', axes: ['batch_size'], runs, threshold: 0.05, metric: 'pop_mae' as const };
  const point = (epoch: number, converged: number) => ({ epoch, converged, n: 1, rate: converged, ci_low: 0, ci_high: 1 });
  const cells = summarizeCells(input).map((c) => ({ ...c, byEpoch: c.params.batch_size === 1 ? [point(1, 0), point(2, 1)] : [point(1, 0), point(2, 0)] }));
  const html = await renderHtmlReport(input, cells);
  const section = html.slice(html.indexOf('id="budget-curves"'), html.indexOf('</figure>', html.indexOf('id="budget-curves"')));
  assert.equal(section.match(/<svg/g)?.length, 1);
  assert.match(html, /1 cell where no run converged at any epoch is not drawn/);
  assert.doesNotMatch(await renderHtmlReport(input, summarizeCells(input)), /budget-curves/, 'no section without curves');
});

test('learning curves keep 100 points a run up to 100 runs, then at most 10,000 in the whole report, never under 10 a run', () => {
  assert.equal(pointsPerRun(1), 100);
  assert.equal(pointsPerRun(100), 100);
  assert.equal(pointsPerRun(200), 50);
  assert.equal(pointsPerRun(600), 16);
  assert.ok(600 * pointsPerRun(600) <= MAX_CURVE_POINTS);
  assert.equal(pointsPerRun(100_000), 10);
});

test('every outcome has a colour of its own in the legend, and dead is not drawn in dead_at_init grey', async () => {
  const runs = [run({ batch_size: 1 }, 'converged'), run({ batch_size: 32 }, 'dead')];
  const html = await render({ sweepName: 's', axes: ['batch_size'], runs, threshold: 0.05, metric: 'val_mae' });
  const legend = html.slice(html.indexOf('<p class="legend">'), html.indexOf('</p>', html.indexOf('<p class="legend">')));
  const colours = new Map([...legend.matchAll(/background:(#[0-9a-f]{6})"><\/span>(\w+)/g)].map((m) => [m[2]!, m[1]!]));
  // A built-in run is never no_metric (a user trainer's outcome): its legend leaves it out.
  assert.deepEqual([...colours.keys()], [...OUTCOMES.filter((o) => o !== 'no_metric'), 'unfinished']);
  assert.equal(new Set(colours.values()).size, colours.size, `colours: ${JSON.stringify([...colours])}`);
  assert.equal(colours.get('dead'), '#3b3b3b');
  assert.equal(colours.get('unfinished'), '#c7c7c7');
});

test("a user trainer's legend has no_metric in a colour of its own and no dead outcomes", async () => {
  const runs = [{ ...run({ hidden: 2 }, 'converged'), trainer: 'module' as const }, { ...run({ hidden: 3 }, 'no_metric'), trainer: 'module' as const }];
  const html = await render({ sweepName: 's', axes: ['hidden'], runs, threshold: 0.05, metric: 'loss', trainer: 'module', direction: 'below', at: 'last' });
  const legend = html.slice(html.indexOf('<p class="legend">'), html.indexOf('</p>', html.indexOf('<p class="legend">')));
  const colours = new Map([...legend.matchAll(/background:(#[0-9a-f]{6})"><\/span>(\w+)/g)].map((m) => [m[2]!, m[1]!]));
  assert.deepEqual([...colours.keys()], [...OUTCOMES.filter((o) => o !== 'dead' && o !== 'dead_at_init'), 'unfinished']);
  assert.equal(new Set(colours.values()).size, colours.size);
  assert.doesNotMatch(html, /alive|dead at init/);
  assert.match(html, /no_metric \(finished without ever reporting the rule&#39;s metric: not in n\)/);
});

/** Epochs for `runs`: converged runs fall from 0.3 by 10% an epoch, others stay near 0.25. */
function epochsOf(runs: readonly RunRow[], n: number) {
  return runs.flatMap((r) => Array.from({ length: n }, (_, i) => {
    const valMae = r.outcome === 'converged' ? 0.3 * 0.9 ** i : 0.25 + 0.001 * ((r.id * 7 + i) % 5);
    return { runId: r.id, epoch: i + 1, loss: 1, mae: 1, valLoss: 1, valMae, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, seconds: 1 };
  }));
}

/** Per learning-curve panel (in page order), the number of line paths and of band paths it draws. */
function curveMarks(html: string): { lines: number; bands: number; title: string }[] {
  const figure = html.slice(html.indexOf('id="learning-curves"'), html.indexOf('</figure>', html.indexOf('id="learning-curves"')));
  return figure.split('<svg').slice(1).map((svg) => {
    const count = (mark: string): number =>
      [...svg.matchAll(new RegExp(`<g class="mark-${mark} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs'))].reduce((sum, m) => sum + (m[1]!.match(/<path/g)?.length ?? 0), 0);
    const title = [...(svg.match(/<g class="mark-group role-title.*$/s)?.[0] ?? '').matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1]).join(' | ');
    return { lines: count('line'), bands: count('area'), title };
  });
}

test(`a cell of more than ${MAX_RUN_LINES} runs draws per outcome a median line and a band, not a line per run; a cell of few runs keeps a line per run`, async () => {
  const many = [
    ...Array.from({ length: 8 }, () => run({ batch_size: 1 }, 'converged')),
    ...Array.from({ length: 5 }, () => run({ batch_size: 1 }, 'not_converged')),
  ];
  const few = [run({ batch_size: 32 }, 'converged'), run({ batch_size: 32 }, 'not_converged'), run({ batch_size: 32 }, 'not_converged')];
  const runs = [...many, ...few];
  const html = await render({ sweepName: 's', axes: ['batch_size'], runs, epochs: epochsOf(runs, 20), threshold: 0.05, metric: 'val_mae' });
  const [manyPanel, fewPanel] = curveMarks(html);
  assert.deepEqual({ lines: manyPanel!.lines, bands: manyPanel!.bands }, { lines: 2, bands: 2 }, '13 runs, two outcomes: two medians, two bands');
  assert.match(manyPanel!.title, /8 converged, 5 not_converged/);
  assert.deepEqual({ lines: fewPanel!.lines, bands: fewPanel!.bands }, { lines: 3, bands: 0 }, 'three runs: three lines');
  assert.doesNotMatch(fewPanel!.title, /not_converged/);
  const note = html.slice(html.indexOf('<h2>Learning curves</h2>'), html.indexOf('id="learning-curves"'));
  assert.match(note, new RegExp(`Cells with more than ${MAX_RUN_LINES} runs draw per outcome, the median .* interquartile range, 25th to 75th percentile \\(band\\).*cells with at most ${MAX_RUN_LINES} runs draw one line per run`));
  assert.match(note, /log scale/);
  assert.match(note, /dashed line is the convergence threshold \(0\.05\)/);
});

test('a report of few runs draws a line per run and says so; a report whose every cell has many runs says only what it draws', async () => {
  const few = [run({ batch_size: 1 }, 'converged'), run({ batch_size: 1 }, 'dead'), run({ batch_size: 32 }, 'not_converged')];
  const fewHtml = await render({ sweepName: 's', axes: ['batch_size'], runs: few, epochs: epochsOf(few, 10), threshold: 0.05, metric: 'val_mae' });
  assert.deepEqual(curveMarks(fewHtml).map((p) => [p.lines, p.bands]), [[2, 0], [1, 0]]);
  assert.match(fewHtml, /coloured by outcome: one line per run \(at most 100 points a run\)\./);
  assert.doesNotMatch(fewHtml, /interquartile/);

  const many = Array.from({ length: 30 }, (_, i) => run({ batch_size: 1 }, i % 3 === 0 ? 'converged' : 'not_converged'));
  const manyHtml = await render({ sweepName: 's', axes: ['batch_size'], runs: many, epochs: epochsOf(many, 50), threshold: 0.05, metric: 'val_mae' });
  assert.deepEqual(curveMarks(manyHtml).map((p) => [p.lines, p.bands]), [[2, 2]]);
  assert.match(manyHtml, new RegExp(`Every cell has more than ${MAX_RUN_LINES} runs.*each panel draws per outcome, the median`));
  assert.doesNotMatch(manyHtml, /one line per run/);
});
