import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createApp } from '../../src/bootstrap';
import { mintToken } from '../../src/auth/tokens';
import type { Role } from '../../src/shared/principal';
import { loadConfig } from '../../src/config/app-config';
import type { EventStore, StoredEventLog } from '../../src/event-sourcing';
import { FixedClock } from '../../src/shared/clock';
import { EVENT_STORE, STORED_EVENT_LOG } from '../../src/event-sourcing';
import type { LogDestination } from '../../src/logging/log-output';
import { freshSchemaUrl } from './postgres';
import { OpenApiAnswers } from './openapi-answers';

/** The local token secret every test app runs with, to sign tokens with hand-picked claims. */
export const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** The real app over a real store, driven through Fastify's inject (no sockets). */
export type TestApp = {
  readonly app: NestFastifyApplication;
  /** The service's store: events read in their current shape. */
  readonly store: EventStore;
  /** The same log as stored, the form the hashes cover. */
  readonly storedLog: StoredEventLog;
  readonly clock: FixedClock;
  readonly dataDir: string;
  /** The settings it runs with: start another app on the same data with them. */
  readonly env: NodeJS.ProcessEnv;
  /** A bearer header for a role. */
  auth(role: Role, options?: { sub?: string; society?: string }): Promise<Record<string, string>>;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Closes the app; keeps DATA_DIR unless `remove`. */
  close(remove?: boolean): Promise<void>;
};

export type StoreKind = 'sqlite' | 'postgres';

/**
 * Settings for a fresh app: a new DATA_DIR, and for postgres a fresh schema holding the events,
 * the read models and the idempotency keys (the shared deployment).
 */
export async function freshEnv(kind: StoreKind): Promise<NodeJS.ProcessEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-'));
  return {
    DATA_DIR: dataDir,
    AUTH_JWT_SECRET: SECRET,
    // Suites fire hundreds of requests with one token; the rate-limit suite turns it on itself.
    RATE_LIMIT_PER_MINUTE: '0',
    ...(kind === 'postgres'
      ? {
          EVENT_STORE: 'postgres',
          READ_MODEL_STORE: 'postgres',
          DATABASE_URL: await freshSchemaUrl(),
        }
      : {}),
  };
}

/** Starts the app on `env`; it logs nothing unless given `logs`, where its log lines then go. */
export async function startApp(
  env: NodeJS.ProcessEnv,
  clock = new FixedClock(new Date('2025-11-10T10:00:00+08:00')),
  logs?: LogDestination,
): Promise<TestApp> {
  const config = loadConfig(env);
  const app = await createApp(
    config,
    logs ? { logDestination: logs, clock } : { logger: false, clock },
  );
  await app.init();
  const server = app.getHttpAdapter().getInstance();
  await server.ready();
  const secret = new TextEncoder().encode(SECRET);
  return {
    app,
    store: app.get<EventStore>(EVENT_STORE),
    storedLog: app.get<StoredEventLog>(STORED_EVENT_LOG),
    clock,
    dataDir: config.dataDir,
    env,
    auth: async (role, options = {}) => ({
      authorization: `Bearer ${await mintToken(
        {
          role,
          sub: options.sub ?? `${role}-1`,
          ...(options.society ? { society: options.society } : {}),
        },
        secret,
      )}`,
    }),
    // Every JSON answer is checked against the OpenAPI document (openapi-answers.ts).
    request: async (options) => {
      const response = await server.inject(options);
      OpenApiAnswers.for(app).check(options, response);
      return response;
    },
    close: async (remove = true) => {
      await app.close();
      if (remove) rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
