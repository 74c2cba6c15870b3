/**
 * Commands benchmark (issue #14): `POST /v1/participants/:id/activities` over HTTP from 50
 * autocannon connections in another process, over many participants and over one, next to the
 * floor measured in the same run: a bare NestJS/Fastify POST with the same DTO and validation
 * pipe that inserts one row (SQLite; PostgreSQL for the PostgreSQL figures). On SQLite (the
 * embedded default), then on PostgreSQL (events, read models and keys in a fresh database).
 *
 *   npm run bench:commands
 *   BENCH_SCALE=0.2 npm run bench:commands
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  Body,
  Controller,
  HttpCode,
  Inject,
  Module,
  Param,
  Post,
  ValidationPipe,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { LogActivityDto } from '../src/participants/commands/participant.dto';
import { printBenchLines, report, SCALE, scaled } from './bench-kit';
import {
  ADMIN_URL,
  createDatabase,
  defineProgramme,
  dropDatabase,
  enrolStudent,
  PROGRAMME,
  SECRET,
  sender,
  staffTokens,
  Tally,
} from './faults/fault-kit';

const run = promisify(execFile);
const PARTICIPANTS = scaled(100, 5);
const CONNECTIONS = 50;
const DURATION_S = Math.max(3, Math.round(10 * Math.min(1, SCALE * 2)));
// `sqlite`, `postgres` or both (the default): one store alone, e.g. under a profiler.
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const ACTIVITY = JSON.stringify({
  pillar: 'professional',
  category: 'international_conference',
  title: 'China Rare Earth Annual Conference, Baotou',
  occurredOn: '2026-03-14',
  hours: 2,
});

type LoadResult = {
  readonly rps: number;
  readonly okPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly statuses: Record<string, number>;
  readonly errors: number;
  readonly timeouts: number;
};

async function load(url: string, paths: readonly string[], token?: string): Promise<LoadResult> {
  const settings = {
    url,
    paths,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: ACTIVITY,
    connections: CONNECTIONS,
    duration: DURATION_S,
  };
  const { stdout } = await run(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'commands-load.ts'), JSON.stringify(settings)],
    { cwd: join(__dirname, '..'), maxBuffer: 16 << 20 },
  );
  return JSON.parse(stdout) as LoadResult;
}

// ---------------------------------------------------------------------------------------------
// The floor: the same route shape, body and validation, and one row written.

const FLOOR_WRITE = Symbol('FloorWrite');
type FloorWrite = (participantId: string, body: string) => Promise<number> | number;

@Controller('floor/participants/:participantId')
class FloorController {
  constructor(@Inject(FLOOR_WRITE) private readonly write: FloorWrite) {}

  @Post('activities')
  @HttpCode(201)
  async log(@Param('participantId') participantId: string, @Body() body: LogActivityDto) {
    const position = await this.write(participantId, JSON.stringify(body));
    return { activityId: randomBytes(16).toString('hex'), position };
  }
}

async function floorApp(write: FloorWrite): Promise<NestFastifyApplication> {
  @Module({
    controllers: [FloorController],
    providers: [{ provide: FLOOR_WRITE, useValue: write }],
  })
  class FloorModule {}
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), {
    logger: false,
  });
  // The service's pipe, as bootstrap.ts sets it.
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app;
}

function sqliteFloor(fileName: string): { write: FloorWrite; close: () => void } {
  const db = new Database(fileName);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE activities (position INTEGER PRIMARY KEY, participant_id TEXT NOT NULL, body TEXT NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO activities (participant_id, body) VALUES (?, ?)');
  return {
    write: (participantId, body) => Number(insert.run(participantId, body).lastInsertRowid),
    close: () => db.close(),
  };
}

async function postgresFloor(
  url: string,
): Promise<{ write: FloorWrite; close: () => Promise<void> }> {
  const pool = new Pool({ connectionString: url, max: 10 });
  await pool.query(
    'CREATE TABLE floor_activities (position BIGSERIAL PRIMARY KEY, participant_id TEXT NOT NULL, body JSONB NOT NULL)',
  );
  return {
    write: async (participantId, body) => {
      const { rows } = await pool.query<{ position: string }>(
        'INSERT INTO floor_activities (participant_id, body) VALUES ($1, $2) RETURNING position',
        [participantId, body],
      );
      return Number(rows[0]!.position);
    },
    close: () => pool.end(),
  };
}

// ---------------------------------------------------------------------------------------------

/** The service on `env`, with `PARTICIPANTS` enrolled through its API. */
async function serviceWithParticipants(
  env: Record<string, string>,
): Promise<{ app: NestFastifyApplication; base: string; participantIds: string[]; staff: string }> {
  const config = loadConfig({
    ...env,
    AUTH_JWT_SECRET: SECRET,
    RATE_LIMIT_PER_MINUTE: '0',
    DOCS_ENABLED: 'false',
  });
  const app = await createApp(config, { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = await app.getUrl();
  const tokens = await staffTokens();
  const tally = new Tally();
  await defineProgramme(tally, base, tokens);
  const send = sender(tally, () => base);
  const participantIds: string[] = [];
  for (let first = 0; first < PARTICIPANTS; first += 10) {
    const batch = Array.from({ length: Math.min(10, PARTICIPANTS - first) }, (_, i) =>
      enrolStudent(send, {
        programmeId: PROGRAMME,
        sub: `bench-student-${first + i}`,
        society: 'B33',
        staff: tokens.staff,
        admin: tokens.admin,
      }),
    );
    for (const id of await Promise.all(batch)) {
      if (!id) throw new Error(`enrolment failed: ${JSON.stringify([...tally.refusals])}`);
      participantIds.push(id);
    }
  }
  return { app, base, participantIds, staff: tokens.staff };
}

async function measure(
  prefix: string,
  env: Record<string, string>,
  floor: { write: FloorWrite },
): Promise<void> {
  const service = await serviceWithParticipants(env);
  const floorServer = await floorApp(floor.write);
  const floorBase = await floorServer.getUrl();
  try {
    const paths = (base: string) =>
      service.participantIds.map((id) => `${base}/participants/${id}/activities`);
    const floorResult = await load(floorBase, paths('/floor'));
    const many = await load(service.base, paths('/v1'), service.staff);
    const one = await load(
      service.base,
      [`/v1/participants/${service.participantIds[0]!}/activities`],
      service.staff,
    );
    for (const [name, result] of [
      ['floor', floorResult],
      ['log_activity', many],
      ['log_activity_one_stream', one],
    ] as const) {
      const failed = Object.entries(result.statuses).filter(
        ([status]) => Number(status) >= 500 && status !== '503',
      );
      if (failed.length > 0 || result.errors > 0)
        throw new Error(`${prefix}${name}: ${JSON.stringify(result)}`);
      report({
        name: `${prefix}${name}.rps`,
        value: result.okPerSecond,
        unit: 'req/s',
        note: `2xx answers a second; ${JSON.stringify(result.statuses)}`,
      });
      report({ name: `${prefix}${name}.p99`, value: result.p99, unit: 'ms' });
      if (name !== 'floor') {
        report({
          name: `${prefix}${name}.conflicts`,
          value: result.statuses['409'] ?? 0,
          unit: 'answers',
          note: '409s: no request of the load can be a real conflict',
        });
        report({
          name: `${prefix}${name}.queue_timeouts`,
          value: result.statuses['503'] ?? 0,
          unit: 'answers',
        });
      }
    }
    report({
      name: `ratio.${prefix}log_activity_vs_floor.rps`,
      value: many.okPerSecond / floorResult.okPerSecond,
      unit: 'x',
      note: 'target >= 0.5',
    });
    report({
      name: `ratio.${prefix}log_activity_one_stream_vs_many.rps`,
      value: one.okPerSecond / many.okPerSecond,
      unit: 'x',
    });
  } finally {
    await floorServer.close();
    await service.app.close();
  }
}

async function main(): Promise<void> {
  process.stdout.write(
    `Commands benchmark, BENCH_SCALE=${SCALE}, ${PARTICIPANTS} participants, ${CONNECTIONS} connections, ${DURATION_S} s per load\n`,
  );
  const work = mkdtempSync(join(tmpdir(), 'commands-bench-'));
  try {
    if (STORES.includes('sqlite')) {
      const floor = sqliteFloor(join(work, 'floor.sqlite'));
      try {
        await measure('http.', { DATA_DIR: join(work, 'sqlite') }, floor);
      } finally {
        floor.close();
      }
    }
    if (STORES.includes('postgres')) await onPostgres(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  printBenchLines();
}

async function onPostgres(work: string): Promise<void> {
  {
    const database = `bench_commands_${randomBytes(4).toString('hex')}`;
    const url = await createDatabase(ADMIN_URL, database);
    try {
      const pgFloor = await postgresFloor(url);
      try {
        await measure(
          'http.postgres.',
          {
            DATA_DIR: join(work, 'postgres'),
            EVENT_STORE: 'postgres',
            READ_MODEL_STORE: 'postgres',
            KEY_STORE: 'postgres',
            DATABASE_URL: url,
          },
          pgFloor,
        );
      } finally {
        await pgFloor.close();
      }
    } finally {
      await dropDatabase(ADMIN_URL, database).catch(() => undefined);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
