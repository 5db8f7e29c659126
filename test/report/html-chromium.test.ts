import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { budgetCurves, renderHtmlReport, summarizeCells } from '../../src/report';
import type { EpochRow, Outcome, ReportInput, RunRow } from '../../src/report';

const CHROMIUM = '/usr/bin/chromium';

/**
 * A synthetic sweep shaped like the seed experiment: batch_size × n_samples × seq_len, 10 seeds a
 * cell, 30 epochs a run. More data converges more often; batch 32 mostly dies. Deterministic.
 */
function syntheticSweep(): ReportInput {
  let state = 12345;
  const rand = (): number => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const runs: RunRow[] = [];
  const epochs: EpochRow[] = [];
  let id = 0;
  for (const batch_size of [1, 32]) {
    for (const seq_len of [200, 500]) {
      for (const n_samples of [50, 80, 130]) {
        const pConverge = batch_size === 1 ? Math.min(0.95, n_samples / 140) : 0.1;
        for (let seed = 0; seed < 10; seed++) {
          id++;
          const u = rand();
          const outcome: Outcome = u < pConverge ? 'converged' : batch_size === 32 && u < 0.8 ? 'dead' : u > 0.97 ? 'diverged' : 'not_converged';
          const n = outcome === 'diverged' ? 12 : 30;
          let valMae = 0.25;
          let convergedEpoch: number | null = null;
          for (let e = 1; e <= n; e++) {
            if (outcome === 'converged') valMae = Math.max(0.004, valMae * (0.8 + 0.1 * rand()));
            else if (outcome === 'not_converged' || outcome === 'diverged') valMae = 0.22 + 0.06 * rand();
            if (outcome === 'converged' && convergedEpoch === null && valMae < 0.05) convergedEpoch = e;
            epochs.push({ runId: id, epoch: e, loss: valMae * valMae, mae: valMae, valLoss: valMae * valMae, valMae, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, seconds: 1 });
          }
          runs.push({
            id, runKey: `r${id}`, seed, params: { batch_size, seq_len, n_samples, epochs: 30, units: 10 },
            status: 'done', outcome, finalValMae: outcome === 'diverged' ? null : valMae, finalLoss: valMae * valMae,
            convergedEpoch, epochsRun: n, seconds: n,
          });
        }
      }
    }
  }
  // One cell still running, so the report shows unfinished runs.
  runs.push({ id: ++id, runKey: `r${id}`, seed: 10, params: { batch_size: 1, seq_len: 500, n_samples: 130, epochs: 30, units: 10 },
    status: 'running', outcome: null, finalValMae: null, finalLoss: null, convergedEpoch: null, epochsRun: null, seconds: null });
  return { sweepName: 'answer-cases <synthetic>', axes: ['batch_size', 'n_samples', 'seq_len'], runs, epochs, threshold: 0.05, metric: 'val_mae' };
}

/**
 * A sweep shaped like sweeps/answer-cases.yaml: five axes (batch_size × kernel_initializer and
 * kernel_gain together × seq_len and n_samples together), 20 cells × 30 seeds × 50 epochs: 600 runs,
 * as the shipped sweep.
 */
function answerCasesShaped(): ReportInput {
  let state = 777;
  const rand = (): number => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const runs: RunRow[] = [];
  const epochs: EpochRow[] = [];
  let id = 0;
  const lengths: [number, number][] = [[2000, 50], [200, 80], [200, 130], [500, 300], [2000, 1200]];
  const kernels: [string, number][] = [['orthogonal', 0.01], ['glorot_uniform', 1]];
  for (const batch_size of [1, 32]) {
    for (const [kernel_initializer, kernel_gain] of kernels) {
      for (const [seq_len, n_samples] of lengths) {
        for (let seed = 1; seed <= 30; seed++) {
          id++;
          const u = rand();
          const outcome: Outcome = u < 0.3 ? 'dead' : u < 0.55 && seq_len === 200 ? 'converged' : 'not_converged';
          let valMae = outcome === 'dead' ? 0.5 : 0.3;
          for (let e = 1; e <= 50; e++) {
            if (outcome === 'converged') valMae = Math.max(0.01, valMae * (0.9 + 0.08 * rand()));
            else if (outcome === 'not_converged') valMae = 0.2 + 0.1 * rand();
            epochs.push({ runId: id, epoch: e, loss: valMae ** 2, mae: valMae, valLoss: valMae ** 2, valMae, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, seconds: 1 });
          }
          runs.push({
            id, runKey: `r${id}`, seed, params: { batch_size, kernel_initializer, kernel_gain, seq_len, n_samples, epochs: 50, units: 10, engine: 'fused' },
            status: 'done', outcome, finalValMae: valMae, finalLoss: valMae ** 2, convergedEpoch: outcome === 'converged' ? 40 : null, epochsRun: 50, seconds: 1,
          });
        }
      }
    }
  }
  return { sweepName: 'answer-cases-shaped', axes: ['batch_size', 'kernel_gain', 'kernel_initializer', 'n_samples', 'seq_len'], runs, epochs, threshold: 0.05, metric: 'val_mae' };
}

async function withPage<T>(html: string, fn: (page: Page, file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, html);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    return await fn(page, file);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Widths that say whether the page fits: the document, and every figure's own scroll box. */
async function widths(page: Page): Promise<{ document: number; figures: { id: string; scroll: number; client: number }[]; widestSvg: number }> {
  // A string, evaluated in the page: the tests compile without the DOM's types.
  return page.evaluate(`({
    document: document.documentElement.scrollWidth,
    figures: [...document.querySelectorAll('figure')].map((f) => ({ id: f.id, scroll: f.scrollWidth, client: f.clientWidth })),
    widestSvg: Math.max(...[...document.querySelectorAll('svg')].map((s) => s.getBoundingClientRect().width)),
  })`);
}

test('a five-axis report of 600 runs fits 1,200 px in Chromium: facets wrap, no figure scrolls sideways, curves are medians and bands, under 400 KB', async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing`);
  const input = answerCasesShaped();
  assert.equal(input.runs.length, 600);
  // With the budget curves, as `report --format html` draws them.
  const curves = budgetCurves(input.axes, input.runs, input.epochs ?? [], { metric: input.metric, threshold: input.threshold });
  const cells = summarizeCells(input).map((c) => ({ ...c, byEpoch: curves.get(c.key) }));
  const html = await renderHtmlReport(input, cells, { dbPath: 'results/answer-cases.db', specPath: 'sweeps/answer-cases.yaml', specHash: 'ab'.repeat(32) });
  const bytes = Buffer.byteLength(html);
  t.diagnostic(`answer-cases-shaped report: ${bytes} bytes`);
  assert.ok(bytes < 400_000, `${bytes} bytes`);
  await withPage(html, async (page, file) => {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const w = await widths(page);
    t.diagnostic(`document scrollWidth ${w.document}, widest svg ${w.widestSvg}`);
    assert.ok(w.document <= 1250, `document scrollWidth ${w.document}`);
    for (const f of w.figures) assert.ok(f.scroll <= f.client + 1, `figure #${f.id} scrolls sideways: ${f.scroll} > ${f.client}`);
    assert.ok(w.widestSvg <= 1200);
    // Four heatmap panels (batch_size × kernel), wrapped onto more than one row; one curve panel per cell.
    const tops = await page.locator('#heatmap svg').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
    assert.equal(tops.length, 4);
    assert.ok(new Set(tops).size >= 2, `panels wrap: tops ${tops.join(', ')}`);
    assert.equal(await page.locator('#learning-curves svg').count(), cells.length);
    // 30 runs a cell: per outcome one median line and one band, not a line per run.
    const perPanel = await page.locator('#learning-curves svg').evaluateAll((svgs) =>
      svgs.map((s) => ({ lines: s.querySelectorAll('g.mark-line.role-mark path').length, bands: s.querySelectorAll('g.mark-area.role-mark path').length })));
    for (const [i, p] of perPanel.entries()) {
      const outcomes = Object.values(cells[i]!.outcomes).filter((k) => k > 0).length;
      assert.deepEqual(p, { lines: outcomes, bands: outcomes }, `panel ${i}`);
    }
    assert.match((await page.locator('h2:has-text("Learning curves") + p.note').textContent()) ?? '', /Every cell has more than 10 runs/);
    assert.ok((await page.locator('#budget-curves svg').count()) > 0, 'budget curves are drawn');
    // The heatmap labels carry the interval; the header names the source.
    assert.match((await page.locator('#heatmap').textContent()) ?? '', /\[0\.\d\d, 0\.\d\d\]/);
    const meta = (await page.locator('dl.meta').textContent()) ?? '';
    assert.match(meta, /database results\/answer-cases\.db, spec sweeps\/answer-cases\.yaml, spec hash abababababab/);
    assert.match(meta, /fixed.*epochs=50/);
  });
});

test('the HTML report renders in headless Chromium with charts, labels and no errors', async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: this test needs Debian's chromium; .ci/run must \`apt-get install -y chromium\` before the tests`,
  );
  const input = syntheticSweep();
  const cells = summarizeCells(input);
  const html = await renderHtmlReport(input, cells);
  await withPage(html, async (page, file) => {
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // The report must open offline: any request other than the file itself is a failure.
    const requests: string[] = [];
    page.on('request', (r) => { if (r.url() !== pathToFileURL(file).href) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [], 'the report loads nothing but itself');
    assert.ok((await page.locator('svg').count()) >= 3, 'at least three charts');

    const marks = await page.locator('#heatmap svg path, #heatmap svg rect').count();
    assert.ok(marks > cells.length, `heatmap has ${marks} marks for ${cells.length} cells`);
    const first = cells[0]!;
    const label = `${first.converged}/${first.n}`;
    const heatmapText = await page.locator('#heatmap').textContent();
    assert.ok(heatmapText?.includes(label), `heatmap shows the k/n label ${label}`);
    assert.ok(heatmapText?.includes('batch_size=32'), 'one panel per batch_size');
    assert.equal(await page.locator('#heatmap svg').count(), 2, 'one panel per batch_size');
    const w = await widths(page);
    assert.ok(w.document <= 1250, `document scrollWidth ${w.document}`);
    for (const f of w.figures) assert.ok(f.scroll <= f.client + 1, `figure #${f.id} scrolls sideways: ${f.scroll} > ${f.client}`);

    assert.ok((await page.locator('#learning-curves svg path').count()) > cells.length, 'learning curves have line paths');
    assert.ok((await page.locator('#outcomes svg').count()) === 1);
    // Every run's curve is one path of at most 100 points (50 epochs here: every point kept).
    const points = await page.locator('#learning-curves svg g.role-mark.mark-line path').evaluateAll((els) => els.map((e) => (e.getAttribute('d') ?? '').split(/[ML]/).length - 1));
    assert.ok(points.length > 0 && points.every((n) => n <= 100), `points per run: max ${Math.max(...points)}`);
    assert.equal(await page.locator('table tbody tr').count(), cells.length);
    assert.equal(await page.locator('script').count(), 0);
    // The sweep name held markup; it must show as text.
    assert.equal(await page.locator('h1').textContent(), 'Convergence report: answer-cases <synthetic>');

    if (process.env.CONVERGE_REPORT_SCREENSHOT) {
      await page.screenshot({ path: process.env.CONVERGE_REPORT_SCREENSHOT, fullPage: true });
    }
  });
});
