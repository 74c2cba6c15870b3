import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import type { Command } from 'commander';
import { AppModule } from '../app.module';
import { selectionStream } from '../applications/domain/selection';
import type { AppConfig } from '../config/app-config';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { EVENT_SCHEMAS } from '../event-schemas';
import { EVENT_STORE, type EventStore, PersonalDataVault } from '../event-sourcing';
import { DTDP_2025 } from '../programmes/domain/programme';
import { seedProgrammes } from '../programmes/programme-seed';
import { createEventStore } from '../stores/event-store.module';
import { seedDemoCohort } from './demo-cohort';

export function seedCommand(program: Command): void {
  program
    .command('seed')
    .description(`define the ${DTDP_2025.programmeId} programme (idempotent)`)
    .option(
      '--demo',
      'also add a realistic demo cohort (8 applications, 2 participants with activities); skipped if decisions exist',
    )
    .action(async (options: { demo?: boolean }) => {
      const settings = loadConfigOrExit();
      const store = createEventStore(settings, EVENT_SCHEMAS);
      try {
        const wrote = await seedProgrammes(store);
        process.stdout.write(
          wrote
            ? `Defined programme ${DTDP_2025.programmeId}.\n`
            : `Programme ${DTDP_2025.programmeId} is already defined; nothing to do.\n`,
        );
      } finally {
        await store.close();
      }
      if (options.demo) await seedDemo(settings);
    });
}

async function seedDemo(settings: AppConfig): Promise<void> {
  // The demo runs the real command handlers, so it needs the application's wiring (no HTTP).
  const app = await NestFactory.createApplicationContext(AppModule.register(settings), {
    logger: ['error', 'warn'],
  });
  try {
    const store = app.get<EventStore>(EVENT_STORE);
    const vault = app.get(PersonalDataVault);
    await vault.ready();
    const selection = selectionStream(DTDP_2025.programmeId, 'B33');
    const commands = await seedDemoCohort(
      app.get(CommandBus),
      async () => (await store.readStream(selection).catch(() => [])).length > 0,
      (sub) => vault.pseudonym(sub),
    );
    process.stdout.write(
      commands > 0
        ? `Added the demo cohort (${commands} commands).\n`
        : 'The demo cohort (or other decisions) exists already; nothing to do.\n',
    );
  } finally {
    await app.close();
  }
}
