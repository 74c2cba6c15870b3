import 'reflect-metadata';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ROLES, type Role } from './shared/principal';
import { loadOrCreateSecret, mintToken } from './auth/tokens';
import { durationSeconds } from './shared/duration';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config';
import { isInstant } from './http/validators';
import { DTDP_2025 } from './programmes/domain/programme';
import { seedProgrammes } from './programmes/programme-seed';
import { EVENT_STORE } from './event-sourcing';
import { createEventStore } from './stores/event-store.module';
import { MultiBar, Presets } from 'cli-progress';
import { PROJECTIONS } from './read-models';
import { createReadModelStore } from './stores/read-model-store.module';
import { rebuildProjections } from './projections/projection-rebuild';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { AppModule } from './app.module';
import { selectionStream } from './applications/domain/selection';
import type { EventStore } from './event-sourcing';
import { seedDemoCohort } from './cli/demo-cohort';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PUBLIC_KEY_FILE, checkDigest, createDigest, loadOrCreateDigestKeys } from './audit/digest';
import { runVerification } from './audit/verification';
import { foldProjection } from './projections/projection';

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
    'lifetime such as 8h, 30m, 7d; at most AUTH_MAX_TTL (12h unless set); 8h by default',
    (value) => {
      if (durationSeconds(value) === undefined)
        throw new InvalidArgumentError('use a number and a unit: 30m, 8h, 7d');
      return value;
    },
  )
  .action(async (options: { role: Role; society?: string; sub?: string; ttl?: string }) => {
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
        ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
        ...(options.society !== undefined ? { society: options.society } : {}),
      },
      secret,
      settings.AUTH_MAX_TTL,
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

// One progress bar on stderr (stdout stays clean for what a command prints).
function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  const bars = new MultiBar(
    {
      format: '{label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 60_000,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const bar = bars.create(1, 0, { label });
  return {
    update: (done, total) => {
      bar.setTotal(Math.max(total, 1));
      bar.update(Math.min(done, Math.max(total, 1)));
    },
    stop: () => bars.stop(),
  };
}

program
  .command('verify')
  .description(
    "recompute every event's hash and every stream's chain, compare every read model with a fresh replay; exit 1 on any mismatch",
  )
  .option('--digest <file>', 'also check that the log still extends this signed digest')
  .option(
    '--public-key <file>',
    `public key to check the digest with (default: ${PUBLIC_KEY_FILE} in DATA_DIR)`,
  )
  .action(async (options: { digest?: string; publicKey?: string }) => {
    const settings = config();
    const events = createEventStore(settings);
    const readModels = createReadModelStore(settings);
    let failed = false;
    try {
      if (options.digest) {
        const digest = readJsonFile(options.digest);
        const publicKey = createPublicKey(
          readFileSync(options.publicKey ?? join(settings.dataDir, PUBLIC_KEY_FILE)),
        );
        const bar = progressBar('digest');
        const check = await checkDigest(events, digest, publicKey, (position) =>
          bar.update(
            position,
            (digest as { statement?: { position?: number } }).statement?.position ?? position,
          ),
        );
        bar.stop();
        if (check.signatureValid && check.logExtendsDigest) {
          process.stdout.write(
            `Digest OK: signature valid; the log still extends it (${check.statement!.treeSize} events up to position ${check.statement!.position}, root ${check.statement!.rootHash}).\n`,
          );
        } else {
          failed = true;
          for (const problem of check.problems) process.stdout.write(`DIGEST  ${problem}\n`);
        }
      }
      const bar = progressBar('verify');
      const report = await runVerification(events, readModels, PROJECTIONS, {
        onProgress: ({ position, head }) => bar.update(position, head),
      });
      bar.stop();
      for (const problem of report.log.problems) {
        const where = problem.revision === null ? '' : ` revision ${problem.revision}`;
        const at = problem.position === null ? '' : ` (position ${problem.position})`;
        process.stdout.write(`LOG  ${problem.streamName}${where}${at}: ${problem.problem}\n`);
      }
      for (const problem of report.readModels.problems) {
        process.stdout.write(
          `READ MODEL  ${problem.projection}${problem.key === null ? '' : ` row ${problem.key}`}: ${problem.problem}\n`,
        );
      }
      process.stdout.write(
        `${report.log.events} events in ${report.log.streams} streams checked up to position ${report.log.position}${report.log.headsChecked ? ', with stream heads' : ''}; ${report.readModels.readModels.map((model) => `${model.name} (${model.documents} rows)`).join(', ') || 'no read models'} compared with a fresh replay.\n`,
      );
      if (!report.ok) failed = true;
      process.stdout.write(
        failed
          ? 'Verification FAILED: see the lines above. Restore the store from a backup taken before the first bad position, or rebuild the read models named (npm run cli -- rebuild).\n'
          : 'Verification OK.\n',
      );
    } finally {
      await readModels.close();
      await events.close();
    }
    if (failed) process.exitCode = 1;
  });

program
  .command('digest')
  .description(
    'sign (Ed25519, key in DATA_DIR) the Merkle tree head (RFC 9162) of every event hash so far',
  )
  .option('--out <file>', 'where to write it (default: DATA_DIR/digests/digest-POSITION.json)')
  .action(async (options: { out?: string }) => {
    const settings = config();
    const events = createEventStore(settings);
    try {
      const keys = loadOrCreateDigestKeys(settings.dataDir);
      const head = await events.headPosition();
      const bar = progressBar('digest');
      const digest = await createDigest(events, keys, {
        upTo: head,
        onProgress: (position) => bar.update(position, head),
      });
      bar.stop();
      const out =
        options.out ??
        join(settings.dataDir, 'digests', `digest-${digest.statement.position}.json`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(digest, null, 2)}\n`);
      process.stdout.write(
        `${out}\n${digest.statement.treeSize} events up to position ${digest.statement.position}, root ${digest.statement.rootHash}\nPublic key: ${join(settings.dataDir, PUBLIC_KEY_FILE)} (sha256 ${digest.publicKeyFingerprint})\n`,
      );
    } finally {
      await events.close();
    }
  });

program
  .command('replay')
  .description(
    'print the events of one stream and the state the projections fold from them (as recorded, optionally up to an instant)',
  )
  .requiredOption('--stream <name>', 'stream name, e.g. participant-<id>')
  .option(
    '--until <timestamp>',
    'only events recorded at or before this instant (ISO 8601 with its offset)',
    (value) => {
      // The same strict instant as the API's knownAt: a date alone or a time without an offset
      // would be read in this machine's time zone, which an auditor did not choose.
      if (!isInstant(value))
        throw new InvalidArgumentError(
          'use an ISO 8601 instant with its offset, such as 2026-07-15T08:00:00+08:00',
        );
      return value;
    },
  )
  .action(async (options: { stream: string; until?: string }) => {
    const events = createEventStore(config());
    try {
      const until = options.until === undefined ? Infinity : Date.parse(options.until);
      const stream = (await events.readStream(options.stream)).filter(
        (event) => Date.parse(event.recordedAt) <= until,
      );
      for (const event of stream) {
        process.stdout.write(
          `#${event.revision}  position ${event.position}  ${event.recordedAt}  ${event.type}  by ${event.metadata.actor.role} ${event.metadata.actor.sub}\n    ${JSON.stringify(event.data)}\n`,
        );
      }
      process.stdout.write(`\n${stream.length} events. State folded by the projections:\n`);
      for (const projection of PROJECTIONS) {
        if (projection.createsOnly) continue;
        for (const [key, doc] of foldProjection(projection, stream))
          process.stdout.write(`${projection.name} ${key}:\n${JSON.stringify(doc, null, 2)}\n`);
      }
    } finally {
      await events.close();
    }
  });

program
  .command('export')
  .description('write events with their hashes as NDJSON to stdout, in position order')
  .option('--stream <name>', 'only this stream (in revision order)')
  .action(async (options: { stream?: string }) => {
    const events = createEventStore(config());
    const write = (line: string) =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(line)) resolve();
        else process.stdout.once('drain', resolve);
      });
    try {
      if (options.stream) {
        for (const event of await events.readStream(options.stream))
          await write(`${JSON.stringify(event)}\n`);
        return;
      }
      const head = await events.headPosition();
      const bar = progressBar('export');
      let position = 0;
      for (;;) {
        const batch = await events.readAll(position, 5000);
        if (batch.length === 0) break;
        for (const event of batch) await write(`${JSON.stringify(event)}\n`);
        position = batch[batch.length - 1]!.position;
        bar.update(position, head);
      }
      bar.stop();
    } finally {
      await events.close();
    }
  });

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(
      `Cannot read ${file} as a digest (${(error as Error).message}): pass a file the digest command wrote.`,
      { cause: error },
    );
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
