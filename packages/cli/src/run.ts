/** Dispatches argv to a command; prints errors as one line that says what to do, with stable exit codes. */
import type { Command, Io } from './command.js';
import { UsageError } from './command.js';
import { COMMANDS } from './commands/index.js';
import { printable } from './client/format.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

function help(commands: readonly Command[], prefix: string[] = []): string {
  const shown = commands.filter((c) => prefix.every((p, i) => c.path[i] === p));
  return `Usage: sigilo ${prefix.length ? `${prefix.join(' ')} ` : ''}COMMAND [options]\n\n${shown
    .map((c) => `  ${c.path.join(' ').padEnd(24)} ${c.summary}`).join('\n')}\n\nRun 'sigilo COMMAND --help' for a command's options.\n`;
}

/**
 * Options that may also come before the command (`sigilo --dir DIR whoami`, `sigilo --data DIR admin accounts`), as
 * git's and docker's do: the client's, and the data directory and config file of the server and admin commands.
 */
const LEADING_WITH_VALUE = new Set(['--dir', '--passphrase-file', '--data', '--config']);
const LEADING_FLAGS = new Set(['--json']);

/** Splits options given before the command from the command and its own arguments. */
function leadingOptions(argv: string[]): { lead: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (LEADING_WITH_VALUE.has(a) && i + 1 < argv.length) i += 2;
    else if (LEADING_FLAGS.has(a) || [...LEADING_WITH_VALUE].some((o) => a.startsWith(`${o}=`))) i += 1;
    else break;
  }
  return { lead: argv.slice(0, i), rest: argv.slice(i) };
}

export async function runCli(argvIn: string[], io: Io, commands: readonly Command[] = COMMANDS): Promise<number> {
  const { lead, rest: argv } = leadingOptions(argvIn);
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    io.out(help(commands));
    return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  if (argv[0] === '--version') {
    io.out('sigilo 0.1.0\n');
    return EXIT.OK;
  }
  if (argv[0]!.startsWith('-')) {
    // An option before the command that is not one of those, or one missing its value: say which, not "unknown command".
    const name = argv[0]!.split('=')[0]!;
    io.err(LEADING_WITH_VALUE.has(name)
      ? `sigilo: ${name} needs a value before the command: sigilo ${name} ${name === '--passphrase-file' || name === '--config' ? 'FILE' : 'DIR'} COMMAND\n`
      : `sigilo: ${name} cannot come before the command (only ${[...LEADING_WITH_VALUE, ...LEADING_FLAGS].join(', ')} can); put it after the command: sigilo COMMAND ${argv[0]}\n`);
    return EXIT.USAGE;
  }
  // The longest command path that prefixes argv.
  const command = [...commands].sort((a, b) => b.path.length - a.path.length).find((c) => c.path.every((p, i) => argv[i] === p));
  if (!command) {
    const group = commands.filter((c) => c.path[0] === argv[0]);
    if (group.length) {
      // `sigilo group --help` asks for the family's commands: print them and succeed.
      if (argv[1] === '--help' || argv[1] === '-h') {
        io.out(help(commands, [argv[0]!]));
        return EXIT.OK;
      }
      io.err(argv[1] ? `sigilo: unknown command '${argv.slice(0, 2).join(' ')}'\n` : '');
      io.err(help(commands, [argv[0]!]));
    } else {
      io.err(`sigilo: unknown command '${argv[0]}'\n${help(commands)}`);
    }
    return EXIT.USAGE;
  }
  // Options given before the command go first among its own arguments.
  const rest = [...lead, ...argv.slice(command.path.length)];
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`Usage: ${command.usage}\n\n${command.summary}\n`);
    return EXIT.OK;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`sigilo ${command.path.join(' ')}: ${e.message}\nUsage: ${command.usage.split('\n')[0]}\n`);
      return EXIT.USAGE;
    }
    const code = (e as { code?: unknown }).code;
    // An error may carry text from the server or from another device (a token label a link message named): no escape sequence reaches the terminal.
    const message = printable(e instanceof Error ? e.message : String(e));
    io.err(`sigilo ${command.path.join(' ')}: ${message}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
    return code === 'CONFIG_INVALID' ? EXIT.USAGE : EXIT.FAILED;
  }
}
