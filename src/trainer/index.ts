export { RUN_PLACEHOLDERS, checkArgv, expandArgv, formatCommandLine, placeholdersOf, renderValue, type RunValues } from './argv';
