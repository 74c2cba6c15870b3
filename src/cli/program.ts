import { Command } from 'commander';
import { deadLettersCommand } from './dead-letters';
import { digestCommand } from './digest';
import { encryptLogCommand } from './encrypt-log';
import { eraseCommand } from './erase';
import { exportCommand } from './export';
import { rebuildCommand } from './rebuild';
import { replayCommand } from './replay';
import { seedCommand } from './seed';
import { tokenCommand } from './token';
import { verifyCommand } from './verify';

/** Every command, in the order `--help` lists them. */
const COMMANDS = [
  tokenCommand,
  seedCommand,
  rebuildCommand,
  deadLettersCommand,
  verifyCommand,
  digestCommand,
  replayCommand,
  exportCommand,
  eraseCommand,
  encryptLogCommand,
] as const;

/**
 * The command line. Each command adds itself with `program.command(...)`, so it inherits the
 * program's settings (a usage error also prints that command's help).
 */
export function createProgram(): Command {
  const program = new Command('participant-progress')
    .description(
      'Participant progress: local administration. Settings come from the environment, as for the service.',
    )
    .showHelpAfterError();
  for (const add of COMMANDS) add(program);
  return program;
}
