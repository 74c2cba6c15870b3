import { join } from 'node:path';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Clock } from '../../shared/clock';
import { postgresTimeouts } from '../../stores/postgres/postgres-pool';
import { durationSeconds } from '../../shared/duration';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from './idempotency-store';
import { PostgresIdempotencyStore } from './postgres-idempotency-store';
import { SqliteIdempotencyStore } from './sqlite-idempotency-store';

/**
 * Idempotency keys for every command, stored where READ_MODEL_STORE says and kept for
 * IDEMPOTENCY_TTL. Command controllers apply `IdempotencyInterceptor` themselves
 * (`@UseInterceptors`), rather than it being global: a global interceptor puts Nest's rxjs
 * pipeline on every read too, where it has nothing to do. `servedRoutes` says which routes have
 * it, and a test checks that every POST route does.
 */
@Global()
@Module({
  providers: [
    {
      provide: IDEMPOTENCY_STORE,
      inject: [AppConfig, Clock],
      useFactory: (config: AppConfig, clock: Clock): IdempotencyStore => {
        // The setting was validated as a lifetime at start-up.
        const options = { ttlSeconds: durationSeconds(config.IDEMPOTENCY_TTL)!, clock };
        return config.READ_MODEL_STORE === 'postgres'
          ? new PostgresIdempotencyStore(config.DATABASE_URL!, {
              ...options,
              timeouts: postgresTimeouts(config.REQUEST_TIMEOUT_MS),
            })
          : new SqliteIdempotencyStore(join(config.dataDir, 'requests.sqlite'), options);
      },
    },
  ],
  // Erasure deletes a student's records.
  exports: [IDEMPOTENCY_STORE],
})
export class IdempotencyModule implements OnApplicationShutdown {
  constructor(@Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
