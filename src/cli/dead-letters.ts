import type { Command } from 'commander';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import type { DeadLetter } from '../projections/read-model-store';
import { retryDeadLetters } from '../projections/retry-dead-letters';
import { PROJECTIONS } from '../read-models';
import { EVENT_SCHEMAS } from '../event-schemas';
import { createEventStore } from '../stores/event-store.module';
import { createLockingLeadership, createReadModelStore } from '../stores/read-model-store.module';
import { rebuildBar } from './rebuild';

export function deadLettersCommand(program: Command): void {
  program
    .command('dead-letters')
    .description(
      'list events a projection could not apply (each was skipped with its error); --retry applies them again after a fix',
    )
    .option(
      '--retry',
      'rebuild the read models that have dead letters from the events, then switch to them (no downtime): the letters that apply now are cleared, those that still fail are kept',
    )
    .action(async (options: { retry?: boolean }) => {
      const settings = loadConfigOrExit();
      const readModels = createReadModelStore(settings);
      try {
        if (!options.retry) {
          const letters = await readModels.deadLetters();
          if (letters.length === 0) process.stdout.write('No dead letters.\n');
          for (const letter of letters) process.stdout.write(line(letter));
          return;
        }
        const events = createEventStore(settings, EVENT_SCHEMAS);
        try {
          const affected = new Set((await readModels.deadLetters()).map((dead) => dead.projection));
          if (affected.size === 0) {
            process.stdout.write('No dead letters.\n');
            return;
          }
          const bar = rebuildBar(
            PROJECTIONS.filter((projection) => affected.has(projection.name))
              .map((projection) => projection.name)
              .join(', '),
          );
          let retry;
          // A retry is a rebuild: it holds the rebuild locks of the read models it rebuilds.
          const leadership = createLockingLeadership(settings);
          try {
            retry = await retryDeadLetters(events, readModels, PROJECTIONS, {
              onProgress: bar.onProgress,
              leadership,
            });
          } finally {
            bar.stop();
            await leadership.close();
          }
          const remain = retry.remaining.length;
          process.stdout.write(
            `Re-applied ${retry.reapplied} of ${retry.before} dead ${plural(retry.before, 'letter')}; ${remain} ${remain === 1 ? 'remains' : 'remain'}.\n`,
          );
          for (const letter of retry.remaining) process.stdout.write(line(letter));
        } finally {
          await events.close();
        }
      } finally {
        await readModels.close();
      }
    });
}

function line(letter: DeadLetter): string {
  return `${letter.recordedAt}  ${letter.projection}  position ${letter.position}  ${letter.eventType} in ${letter.streamName}: ${letter.error}\n`;
}

const plural = (count: number, word: string) => (count === 1 ? word : `${word}s`);
