export { adamStep, type AdamConfig } from './adam';
export { backwardRow, batchGradient } from './backward';
export { FusedNet, forwardRow, paramLayout, predictRow, syncTransposed, type NetOptions, type ParamLayout } from './forward';
export { batchPathFromEnv, createFusedTrainer, getWeights, setWeights, type BatchPath, type FusedTrainer, type FusedTrainerOptions } from './trainer';
export { sharedBatchGradient, sharedEvaluate, sharedPredict, sharedRowsOf, type SharedRows } from './shared';
export { fusedEngine } from './engine';
