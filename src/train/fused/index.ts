export { adamStep, type AdamConfig } from './adam';
export { backwardRow, batchGradient } from './backward';
export { FusedNet, forwardRow, paramLayout, predictRow, syncTransposed, type NetOptions, type ParamLayout } from './forward';
export { createFusedTrainer, getWeights, setWeights, type FusedTrainer } from './trainer';
export { fusedEngine } from './engine';
