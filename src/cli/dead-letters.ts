import type { Command } from 'commander';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { createReadModelStore } from '../stores/read-model-store.module';

export function deadLettersCommand(program: Command): void {
  program
    .command('dead-letters')
    .description('list events a projection could not apply (each was skipped with its error)')
    .action(async () => {
      const readModels = createReadModelStore(loadConfigOrExit());
      try {
        const letters = await readModels.deadLetters();
        if (letters.length === 0) process.stdout.write('No dead letters.\n');
        for (const letter of letters) {
          process.stdout.write(
            `${letter.recordedAt}  ${letter.projection}  position ${letter.position}  ${letter.eventType} in ${letter.streamName}: ${letter.error}\n`,
          );
        }
      } finally {
        await readModels.close();
      }
    });
}
