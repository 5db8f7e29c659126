import { pathToFileURL } from 'node:url';

/**
 * A real dynamic import(), kept out of TypeScript's reach: compiled to CommonJS, `import(x)`
 * becomes `require(x)`, which cannot load an ES module (`.mjs`, or `.js` under "type": "module")
 * on Node 20. A file URL, so a path with `#` or `%` loads as written.
 */
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

export function importModule(path: string): Promise<Record<string, unknown>> {
  return dynamicImport(pathToFileURL(path).href);
}
