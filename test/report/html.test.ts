import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleSeries, escapeHtml, MAX_CURVE_POINTS, pointsPerRun, renderHtmlReport, summarizeCells, varyingAxes, wrapPairs } from '../../src/report';
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
  assert.deepEqual([...colours.keys()], [...OUTCOMES, 'unfinished']);
  assert.equal(new Set(colours.values()).size, colours.size, `colours: ${JSON.stringify([...colours])}`);
  assert.equal(colours.get('dead'), '#3b3b3b');
});
