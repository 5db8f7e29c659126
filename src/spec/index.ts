export * from './schema';
export { loadSpec, parseSpec, sha256 } from './load';
export { diffSpecs, diffSpecText } from './diff';
