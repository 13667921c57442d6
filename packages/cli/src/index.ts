/** @sigilo/cli: the `sigilo` command, usable programmatically for tests. */
export { runCli, EXIT } from './run.js';
export { COMMANDS } from './commands/index.js';
export { UsageError, type Command, type Io } from './command.js';
