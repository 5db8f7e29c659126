/**
 * What every chart of the HTML report shares: Vega-Lite compiled and rendered to SVG in Node, one
 * fixed palette (an outcome has one colour throughout), the chart style, and panel titles.
 */
import type * as Vega from 'vega';
// vega-lite's package.json declares its types only under "exports", which TypeScript's `node`
// (node10) resolution used by this CommonJS project does not read; the deep path resolves the
// same declarations. It is used for types only: at run time we import the package entry.
import type * as VegaLite from 'vega-lite/build/index';
import type { TopLevelSpec } from 'vega-lite/build/index';
import { OUTCOMES } from './types';

// vega 6 and vega-lite 6 are ESM-only and use top-level await, so `require()` fails on Node 20
// (ERR_REQUIRE_ASYNC_MODULE). A plain `import()` in this file would be rewritten by TypeScript's
// CommonJS output into `require()`; hiding it in a Function keeps it a real dynamic import.
// This is the known pattern for loading ESM from CommonJS TypeScript: microsoft/TypeScript#43329,
// angular/angular-cli#21771. (moduleResolution node16 would keep import() but changes every import.)
const dynImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

interface Renderers { vega: typeof Vega; vegaLite: typeof VegaLite }
let renderers: Promise<Renderers> | undefined;

// Loaded lazily and once: `report` as a table or CSV should not pay for loading vega.
function loadRenderers(): Promise<Renderers> {
  renderers ??= Promise.all([dynImport('vega'), dynImport('vega-lite')]).then(([vega, vegaLite]) => ({
    vega: vega as typeof Vega,
    vegaLite: vegaLite as typeof VegaLite,
  }));
  return renderers;
}

/** Compile a Vega-Lite spec and render it headless to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadRenderers();
  const compiled = vegaLite.compile(spec);
  // renderer 'none': no DOM and no canvas needed; toSVG() serialises the scenegraph itself.
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return roundPathData(await view.toSVG());
  } finally {
    view.finalize(); // release timers and listeners so the process can exit
  }
}

/**
 * Path coordinates to a tenth of a pixel: vega writes up to three decimals, which no screen shows,
 * and a report with hundreds of learning curves is mostly path data.
 */
export function roundPathData(svg: string): string {
  return svg.replace(/ d="([^"]*)"/g, (_m, d: string) => ` d="${d.replace(/-?\d*\.\d+/g, (x) => String(Math.round(Number(x) * 10) / 10))}"`);
}

// ---- colours: one fixed palette for every chart, so an outcome has one colour throughout -----

// Pending or running, or finished without the rule's metric (built-in runs recorded before it): not in any rate.
export const UNFINISHED = 'unfinished';
export const OUTCOME_DOMAIN: string[] = [...OUTCOMES, UNFINISHED];
export const OUTCOME_RANGE: string[] = [
  '#2a9d3f', // converged: green
  '#f08c1c', // not_converged: orange
  '#7f7f7f', // dead_at_init: grey (the seed never started)
  '#3b3b3b', // dead: near black (the output is stuck at 0)
  '#d62728', // diverged: red
  '#e7ba52', // no_metric: ochre (finished, never reported the rule's metric)
  '#8c564b', // failed: brown
  '#9467bd', // timed_out: purple
  '#c7c7c7', // pending or running: light grey
];
export const outcomeColor = { field: 'outcome', type: 'nominal', legend: null, scale: { domain: OUTCOME_DOMAIN, range: OUTCOME_RANGE } } as const;
// The rate's colour ramp, shared by every heatmap panel and the HTML legend under them.
export const RATE_RANGE = ['#eef4fb', '#08519c'] as const;

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
// The SVG text carries a short font name; the page's CSS (which overrides SVG presentation
// attributes) sets the real font stack once instead of in every one of a thousand text elements.
export const CHART_CONFIG = {
  font: 'sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 12, fontWeight: 'bold', anchor: 'start', offset: 6 },
} as const;
export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Break "a=1 b=2 c=3" between pairs into lines of about `width` characters, for panel titles. */
export function wrapPairs(text: string, width = 34): string[] {
  return wrapWords(text.split(' '), width);
}

/** Words joined by spaces into lines of about `width` characters; a longer word gets a line of its own. */
export function wrapWords(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  for (const word of words.filter((w) => w !== '')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}
