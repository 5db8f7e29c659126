export { RUN_PLACEHOLDERS, checkArgv, expandArgv, formatCommandLine, placeholdersOf, renderValue, type RunValues } from './argv';
export { commandScript, hashCommandScript, hashFile, type CodeHash } from './code-hash';
export {
  DEFAULT_LOG_CAP_BYTES,
  DEFAULT_TAIL_BYTES,
  runCommand,
  runEnvironment,
  runFiles,
  type CommandRunOptions,
  type CommandRunResult,
  type CommandRunStatus,
} from './command-runner';
export { parseKerasHeader, parseKerasMetrics, type KerasEpochHeader } from './keras-log';
export { METRICS_ENV, MetricsStream, STDOUT_PREFIX, parseMetricsLine, type EpochRecord, type MetricsSource, type MetricsStreamOptions, type ProtocolWarning } from './metrics-protocol';
export { DEFAULT_GRACE_MS, endGroup, endOrphanGroup, groupAlive, processRecordOf, type OrphanOutcome, type ProcessRecord } from './process-group';
export { checkProgram, findProgram } from './program';
