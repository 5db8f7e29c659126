export { loadTf, type LoadedTf, type LoadTfOptions, type Tf } from './backend';
export { createTfjsTrainer, type TfjsTrainer } from './trainer';
export { tfjsEngine } from './engine';
