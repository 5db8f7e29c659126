export * from './schema';
export { checkComparison, loadSpec, loadSpecText, parseOverride, parseSpec, sameSpec, sha256, specHash, type ParseOptions, type SpecOverride, type TrainerExports } from './load';
export { loadSpecAsync, parseSpecAsync, readTrainerExports, resolveTrainer } from './module-exports';
export { declaredValueProblem, isUserTrainer, userParamsOf } from './user';
export { diffSpecs, diffSpecText } from './diff';
