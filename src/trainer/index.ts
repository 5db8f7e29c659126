export { RUN_PLACEHOLDERS, checkArgv, expandArgv, formatCommandLine, placeholdersOf, renderValue, type RunValues } from './argv';
export { parseKerasHeader, parseKerasMetrics, type KerasEpochHeader } from './keras-log';
export { METRICS_ENV, MetricsStream, STDOUT_PREFIX, parseMetricsLine, type EpochRecord, type MetricsSource, type MetricsStreamOptions, type ProtocolWarning } from './metrics-protocol';
