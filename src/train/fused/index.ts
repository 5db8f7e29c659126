export { adamStep, type AdamConfig } from './adam';
export { backwardRow, batchGradient } from './backward';
export { FusedNet, forwardRow, paramLayout, predictRow, syncTransposed, type NetOptions, type ParamLayout } from './forward';
export { chooseKernel, jsKernel, kernelWanted, type BatchPath, type FusedKernel, type KernelBackend, type KernelChoice, type KernelNet } from './kernel';
export { loadWasmKernel, wasmKernelPath } from './wasm-loader';
export { batchPathFromEnv, createFusedTrainer, getWeights, packWeights, setWeights, unpackWeights, type FusedTrainer, type FusedTrainerOptions } from './trainer';
export { sharedBatchGradient, sharedEvaluate, sharedPredict, sharedRowsOf, type SharedRows } from './shared';
export { fusedEngine } from './engine';
