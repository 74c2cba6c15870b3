import 'reflect-metadata';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ROLES, type Role } from './auth/principal';
import { loadOrCreateSecret, mintToken } from './auth/tokens';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config';
import { DTDP_2025 } from './programmes/domain/programme';
import { seedProgrammes } from './programmes/programme-seed';
import { EVENT_STORE, createEventStore } from './stores/event-store.module';
import { MultiBar, Presets } from 'cli-progress';
import { PROJECTIONS, createReadModelStore } from './projections/projections.module';
import { rebuildProjections } from './projections/projection-rebuild';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { AppModule } from './app.module';
import { selectionStream } from './applications/domain/selection';
import type { EventStore } from './event-sourcing';
import { seedDemoCohort } from './programmes/demo-cohort';

function config(): AppConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const program = new Command('cli')
  .description(
    'Participant progress: local administration. Settings come from the environment, as for the service.',
  )
  .showHelpAfterError();

program
  .command('token')
  .description('print a signed bearer token for local use')
  .addOption(
    new Option('--role <role>', 'the role the token carries').choices(ROLES).makeOptionMandatory(),
  )
  .option('--society <code>', 'society code, required for society_staff (e.g. B33)')
  .option('--sub <id>', 'subject; defaults to a name derived from the role')
  .option(
    '--ttl <duration>',
    'lifetime such as 8h, 30m, 7d',
    (value) => {
      if (!/^\d+\s*(s|m|h|d|w)$/.test(value))
        throw new InvalidArgumentError('use a number and a unit: 30m, 8h, 7d');
      return value;
    },
    '8h',
  )
  .action(async (options: { role: Role; society?: string; sub?: string; ttl: string }) => {
    const settings = config();
    if (settings.AUTH_JWKS_URL) {
      process.stderr.write(
        'AUTH_JWKS_URL is set: tokens come from your identity provider, not from this command.\n',
      );
      process.exit(1);
    }
    const secret = loadOrCreateSecret(settings.dataDir, settings.AUTH_JWT_SECRET);
    const sub =
      options.sub ?? `${options.role}${options.society ? `-${options.society}` : ''}-local`;
    const token = await mintToken(
      {
        role: options.role,
        sub,
        ttl: options.ttl,
        ...(options.society ? { society: options.society } : {}),
      },
      secret,
    ).catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
    process.stdout.write(`${token}\n`);
  });

program
  .command('seed')
  .description(`define the ${DTDP_2025.programmeId} programme (idempotent)`)
  .option(
    '--demo',
    'also add a realistic demo cohort (8 applications, 2 participants with activities); skipped if decisions exist',
  )
  .action(async (options: { demo?: boolean }) => {
    const settings = config();
    const store = createEventStore(settings);
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

async function seedDemo(settings: AppConfig): Promise<void> {
  // The demo runs the real command handlers, so it needs the application's wiring (no HTTP).
  const app = await NestFactory.createApplicationContext(AppModule.register(settings), {
    logger: ['error', 'warn'],
  });
  try {
    const store = app.get<EventStore>(EVENT_STORE);
    const selection = selectionStream(DTDP_2025.programmeId, 'B33');
    const commands = await seedDemoCohort(
      app.get(CommandBus),
      async () => (await store.readStream(selection).catch(() => [])).length > 0,
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

program
  .command('rebuild')
  .description(
    'rebuild read models from the events into new tables, then switch to them (no downtime)',
  )
  .addOption(
    new Option('--projection <name>', 'only this read model').choices(
      PROJECTIONS.map((projection) => projection.name),
    ),
  )
  .action(async (options: { projection?: string }) => {
    const settings = config();
    const events = createEventStore(settings);
    const readModels = createReadModelStore(settings);
    const bars = new MultiBar(
      {
        format:
          '{projection} [{bar}] {percentage}% | {value}/{total} events | {speed} events/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: false,
        // On a pipe or in CI, no redraws: one line per projection when it is done.
        noTTYOutput: !process.stderr.isTTY,
        notTTYSchedule: 60_000,
      },
      Presets.shades_classic,
    );
    const selected = PROJECTIONS.filter(
      (projection) => !options.projection || projection.name === options.projection,
    );
    try {
      const started = Date.now();
      const bar = bars.create(1, 0, {
        projection: selected.map((projection) => projection.name).join(', '),
        speed: 0,
      });
      await rebuildProjections(events, readModels, selected, {
        onProgress: ({ position, head, applied }) => {
          const seconds = Math.max(0.001, (Date.now() - started) / 1000);
          bar.setTotal(Math.max(head, 1));
          bar.update(Math.max(position, head === 0 ? 1 : 0), {
            speed: Math.round(applied / seconds),
          });
        },
      });
      bar.stop();
    } finally {
      bars.stop();
      await readModels.close();
      await events.close();
    }
    process.stdout.write('Read models rebuilt and switched.\n');
  });

program
  .command('dead-letters')
  .description('list events a projection could not apply (each was skipped with its error)')
  .action(async () => {
    const readModels = createReadModelStore(config());
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

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
