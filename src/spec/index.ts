export * from './schema';
export { ALIVE_RECORDED, loadSpec, parseSpec, sha256 } from './load';
export { diffSpecs, diffSpecText } from './diff';
