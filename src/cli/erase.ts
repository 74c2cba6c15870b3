import { userInfo } from 'node:os';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import type { Command } from 'commander';
import { AppModule } from '../app.module';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import {
  ErasePersonalDataCommand,
  type ErasureResult,
} from '../privacy/commands/erase-personal-data';
import { commandContext } from '../shared/command-context';
import { principalOf } from '../shared/principal';

export function eraseCommand(program: Command): void {
  program
    .command('erase')
    .description(
      'erase the personal data of the student who submitted an application: deletes their key and records PersonalDataErased (docs/privacy.md); repeating it changes nothing',
    )
    .requiredOption('--application <id>', 'the application id')
    .requiredOption('--reason <text>', 'why (do not quote the person: the reason is kept for ever)')
    .action(async (options: { application: string; reason: string }) => {
      const settings = loadConfigOrExit();
      // The same command handler as POST /v1/applications/:id/erasure, run as an operator.
      const app = await NestFactory.createApplicationContext(AppModule.register(settings), {
        logger: ['error', 'warn'],
      });
      try {
        const operator = principalOf('programme_admin', `cli:${userInfo().username}`, null);
        const result = await app
          .get(CommandBus)
          .execute<ErasePersonalDataCommand, ErasureResult>(
            new ErasePersonalDataCommand(
              options.application,
              options.reason,
              commandContext(operator),
            ),
          );
        process.stdout.write(
          `Erased data subject ${result.subjectRef} (key deleted ${result.erasedAt}); PersonalDataErased is at position ${result.position}.\n`,
        );
      } finally {
        await app.close();
      }
    });
}
