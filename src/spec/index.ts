export * from './schema';
export { loadSpec, parseOverride, parseSpec, sameSpec, sha256, specHash, type ParseOptions, type SpecOverride } from './load';
export { diffSpecs, diffSpecText } from './diff';
