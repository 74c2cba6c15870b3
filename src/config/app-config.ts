import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  type ValidationOptions,
  validateSync,
} from 'class-validator';

/** Which event store the service writes to. */
export type EventStoreKind = 'sqlite' | 'eventstoredb' | 'postgres';
/** Which database holds the read models. */
export type ReadModelStoreKind = 'sqlite' | 'postgres';
/** Which database holds the per-subject encryption keys and the pseudonym secret. */
export type KeyStoreKind = 'sqlite' | 'postgres';

/** What a process does (docs/operations.md, "Roles"). */
export type ProcessRole = 'all' | 'api' | 'projector';
/** How much the service logs: pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A level of `LOG_LEVEL`. */
export type LogLevelSetting = (typeof LOG_LEVELS)[number];

/** A lifetime such as `24h`: a whole number above 0 and one of s, m, h, d, w. */
const LIFETIME = /^[1-9]\d*[smhdw]$/;

/**
 * The service's settings, read once from the environment at start-up (docs/API.md, "Running").
 * Every field is validated; the first bad one stops start-up with one line naming it.
 */
export class AppConfig {
  /** HTTP port. */
  @IsInt({ message: 'PORT must be a whole number between 1 and 65535' })
  @Min(1, { message: 'PORT must be a whole number between 1 and 65535' })
  @Max(65535, { message: 'PORT must be a whole number between 1 and 65535' })
  readonly PORT: number = 3000;

  /** Interface to listen on: loopback by default; `0.0.0.0` inside a container. */
  @IsString()
  @MinLength(1, { message: 'HOST must name an interface address, e.g. 127.0.0.1 or 0.0.0.0' })
  readonly HOST: string = '127.0.0.1';

  /** Where the embedded stores keep their files. */
  @IsString()
  @MinLength(1, { message: 'DATA_DIR must be a folder path' })
  readonly DATA_DIR: string = './data';

  /** The event store adapter. */
  @IsIn(['sqlite', 'eventstoredb', 'postgres'], {
    message: 'EVENT_STORE must be one of sqlite, eventstoredb, postgres',
  })
  readonly EVENT_STORE: EventStoreKind = 'sqlite';

  /** EventStoreDB connection string, required with EVENT_STORE=eventstoredb. */
  @ValidateIf(
    (config: AppConfig) =>
      config.EVENT_STORE === 'eventstoredb' || config.EVENTSTORE_CONNECTION_STRING !== undefined,
  )
  @Matches(/^(esdb|kurrentdb|esdb\+discover|kurrentdb\+discover):\/\/\S+$/, {
    message:
      'EVENTSTORE_CONNECTION_STRING must be set to an esdb:// URL (e.g. esdb://localhost:2113?tls=false) when EVENT_STORE=eventstoredb',
  })
  readonly EVENTSTORE_CONNECTION_STRING?: string;

  /** The read-model store. */
  @IsIn(['sqlite', 'postgres'], { message: 'READ_MODEL_STORE must be one of sqlite, postgres' })
  readonly READ_MODEL_STORE: ReadModelStoreKind = 'sqlite';

  /**
   * The key store (personal-data keys and the pseudonym secret): `postgres` when EVENT_STORE is,
   * `sqlite` (its own file in DATA_DIR) otherwise. Keys live outside the event log, so erasing
   * one shreds that person's data without touching a hashed event.
   */
  @IsIn(['sqlite', 'postgres'], { message: 'KEY_STORE must be one of sqlite, postgres' })
  readonly KEY_STORE: KeyStoreKind = 'sqlite';

  /** PostgreSQL URL, required when any store is postgres. */
  @ValidateIf(
    (config: AppConfig) =>
      config.EVENT_STORE === 'postgres' ||
      config.READ_MODEL_STORE === 'postgres' ||
      config.KEY_STORE === 'postgres' ||
      config.DATABASE_URL !== undefined,
  )
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message:
      'DATABASE_URL must be set to a postgres:// URL (e.g. postgres://postgres@127.0.0.1:5432/progress) when a store is postgres',
  })
  readonly DATABASE_URL?: string;

  /**
   * SQLite durability: NORMAL (default) survives a crash of the process but may lose the last
   * commits on power loss; FULL syncs every commit to disk. See docs/design.md, "Durability".
   */
  @IsIn(['NORMAL', 'FULL'], { message: 'SQLITE_SYNCHRONOUS must be NORMAL or FULL' })
  readonly SQLITE_SYNCHRONOUS: 'NORMAL' | 'FULL' = 'NORMAL';

  /** HS256 secret for locally minted tokens; generated into DATA_DIR when unset. */
  @IsOptional()
  @MinLength(32, { message: 'AUTH_JWT_SECRET must be at least 32 characters' })
  readonly AUTH_JWT_SECRET?: string;

  /**
   * The longest lifetime of a locally minted token: `token --ttl` refuses more, and the service
   * refuses a local token whose exp is further than this from its iat.
   */
  @Matches(LIFETIME, {
    message:
      'AUTH_MAX_TTL must be a lifetime such as 12h, 30m or 7d (a whole number and s, m, h, d or w)',
  })
  readonly AUTH_MAX_TTL: string = '12h';

  /**
   * How long an `Idempotency-Key` is remembered: a retry after this is a new request, and the
   * stored answer (which may hold personal data) is deleted.
   */
  @Matches(LIFETIME, {
    message:
      'IDEMPOTENCY_TTL must be a lifetime such as 24h, 30m or 7d (a whole number and s, m, h, d or w)',
  })
  readonly IDEMPOTENCY_TTL: string = '24h';

  /**
   * JWKS of an OpenID Connect provider whose tokens are accepted instead. Its keys decide who
   * may do anything, so they are fetched over TLS; plain http only reaches this machine.
   */
  @IsOptional()
  @IsJwksUrl({
    message:
      'AUTH_JWKS_URL must be an https:// URL (http:// only for localhost, 127.0.0.0/8 or [::1])',
  })
  readonly AUTH_JWKS_URL?: string;

  /** Expected `iss` of provider tokens; required with AUTH_JWKS_URL. */
  @ValidateIf(
    (config: AppConfig) => config.AUTH_JWKS_URL !== undefined || config.AUTH_ISSUER !== undefined,
  )
  @IsString({
    message:
      "AUTH_ISSUER must be set to the provider's issuer (the iss of its tokens) when AUTH_JWKS_URL is set",
  })
  readonly AUTH_ISSUER?: string;

  /** Expected `aud` of provider tokens; required with AUTH_JWKS_URL. */
  @ValidateIf(
    (config: AppConfig) => config.AUTH_JWKS_URL !== undefined || config.AUTH_AUDIENCE !== undefined,
  )
  @IsString({
    message:
      'AUTH_AUDIENCE must be set to the audience the provider puts in tokens for this service when AUTH_JWKS_URL is set',
  })
  readonly AUTH_AUDIENCE?: string;

  /** The provider token claim that carries the API role. */
  @Matches(/^\S+$/, { message: 'AUTH_ROLE_CLAIM must be a claim name without spaces, e.g. role' })
  readonly AUTH_ROLE_CLAIM: string = 'role';

  /** The provider token claim that carries the society code of society_staff. */
  @Matches(/^\S+$/, {
    message: 'AUTH_SOCIETY_CLAIM must be a claim name without spaces, e.g. society',
  })
  readonly AUTH_SOCIETY_CLAIM: string = 'society';

  /**
   * The dashboard pages' client id at the OpenID Connect provider (a public client, no secret).
   * With it and AUTH_ISSUER, the pages offer a sign-in link (authorization code with PKCE, the
   * provider's endpoints from its discovery document) instead of a pasted token. The provider
   * must allow `<this service>/dashboard` as a redirect URI, and send CORS headers on its
   * discovery document and token endpoint.
   */
  @IsOptional()
  @Matches(/^\S+$/, { message: 'DASHBOARD_OIDC_CLIENT_ID must be a client id without spaces' })
  readonly DASHBOARD_OIDC_CLIENT_ID?: string;

  /**
   * The smallest group of people the `dashboard` role sees a figure about (docs/API.md, "Privacy"):
   * smaller counts and their hours are shown as null.
   */
  @IsInt({ message: 'DASHBOARD_MIN_GROUP must be a whole number of at least 1' })
  @Min(1, { message: 'DASHBOARD_MIN_GROUP must be a whole number of at least 1' })
  readonly DASHBOARD_MIN_GROUP: number = 5;

  /**
   * When set, `GET /metrics` needs `Authorization: Bearer <it>` and the token also unlocks the
   * details of `/health/ready`; unset, metrics stay open (scraped from inside the network).
   */
  @IsOptional()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  readonly METRICS_TOKEN?: string;

  /**
   * Requests per minute per verified token subject (per client IP without a valid token);
   * 0 turns the limit off. Health and metrics are never limited.
   */
  @IsInt({ message: 'RATE_LIMIT_PER_MINUTE must be a whole number, 0 or more (0 turns it off)' })
  @Min(0, { message: 'RATE_LIMIT_PER_MINUTE must be a whole number, 0 or more (0 turns it off)' })
  readonly RATE_LIMIT_PER_MINUTE: number = 600;

  /**
   * The longest a request may take: one that has not answered by then gets 503 with Retry-After
   * (a command may still complete; retried with its Idempotency-Key it is not done twice). The
   * PostgreSQL connect and statement timeouts are set below it (docs/reliability.md).
   */
  @IsInt({ message: 'REQUEST_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000' })
  @Min(1000, {
    message: 'REQUEST_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000',
  })
  @Max(600_000, {
    message: 'REQUEST_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000',
  })
  readonly REQUEST_TIMEOUT_MS: number = 10_000;

  /**
   * How long a SIGTERM or SIGINT may take: the service stops accepting, lets requests in flight
   * finish, writes queued appends, stops projections and closes its stores, then exits 0; past
   * this it exits 1 (docs/reliability.md).
   */
  @IsInt({ message: 'SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000' })
  @Min(1000, {
    message: 'SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000',
  })
  @Max(600_000, {
    message: 'SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000',
  })
  readonly SHUTDOWN_TIMEOUT_MS: number = 10_000;

  /**
   * The longest a command waits for the commands ahead of it on the same stream (this process
   * decides them one after the other) and retries a race lost to another process; past it the
   * request gets 503 with Retry-After, or 409 CONCURRENCY_CONFLICT for a race still lost.
   */
  @IsInt({
    message: 'COMMAND_QUEUE_TIMEOUT_MS must be a whole number of milliseconds, 100 to 600000',
  })
  @Min(100, {
    message: 'COMMAND_QUEUE_TIMEOUT_MS must be a whole number of milliseconds, 100 to 600000',
  })
  @Max(600_000, {
    message: 'COMMAND_QUEUE_TIMEOUT_MS must be a whole number of milliseconds, 100 to 600000',
  })
  readonly COMMAND_QUEUE_TIMEOUT_MS: number = 5000;

  /**
   * `all` serves the API and runs the projections; `api` serves the API and follows the
   * projections others run; `projector` runs the projections and serves only health and metrics.
   */
  @IsIn(['all', 'api', 'projector'], { message: 'PROCESS_ROLE must be one of all, api, projector' })
  readonly PROCESS_ROLE: ProcessRole = 'all';

  /**
   * With read models in PostgreSQL, the longest a read model may go unled once the instance that
   * projects it dies (kill -9 included), before another takes over (docs/operations.md).
   */
  @IsInt({ message: 'LEADER_TAKEOVER_MS must be a whole number of milliseconds, 500 to 600000' })
  @Min(500, { message: 'LEADER_TAKEOVER_MS must be a whole number of milliseconds, 500 to 600000' })
  @Max(600_000, {
    message: 'LEADER_TAKEOVER_MS must be a whole number of milliseconds, 500 to 600000',
  })
  readonly LEADER_TAKEOVER_MS: number = 5000;

  /**
   * The least severe log line written (docs/logging.md): each level includes those above it, so
   * `warn` keeps warnings, errors and fatal errors; `debug` and `trace` add detail for diagnosis.
   */
  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  readonly LOG_LEVEL: LogLevelSetting = 'info';

  /** Whether `/docs` (OpenAPI UI) and `/docs-json` are served. */
  @IsBoolean({ message: 'DOCS_ENABLED must be true or false' })
  readonly DOCS_ENABLED: boolean = true;

  /** DATA_DIR as an absolute path. */
  get dataDir(): string {
    return resolve(this.DATA_DIR);
  }
}

/**
 * An https URL, or an http one whose host is this machine (localhost, 127.0.0.0/8, [::1]): a key
 * set fetched in the clear from elsewhere could be swapped on the way, and with it every identity.
 */
function IsJwksUrl(options: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isJwksUrl',
      validator: {
        validate(value: unknown): boolean {
          if (typeof value !== 'string' || !URL.canParse(value)) return false;
          const url = new URL(value);
          if (url.protocol === 'https:') return true;
          return (
            url.protocol === 'http:' &&
            (url.hostname === 'localhost' ||
              url.hostname === '[::1]' ||
              /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname))
          );
        },
      },
    },
    options,
  );
}

/** A setting that is missing or wrong; `message` is the one line to print. */
export class ConfigError extends Error {}

const NUMERIC = new Set<keyof AppConfig>([
  'PORT',
  'DASHBOARD_MIN_GROUP',
  'RATE_LIMIT_PER_MINUTE',
  'REQUEST_TIMEOUT_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'LEADER_TAKEOVER_MS',
  'COMMAND_QUEUE_TIMEOUT_MS',
]);
const BOOLEAN = new Set<keyof AppConfig>(['DOCS_ENABLED']);

// Only these spellings are a boolean; anything else stays a string and fails validation by name.
function parseBoolean(value: string): boolean | string {
  return value === 'true' ? true : value === 'false' ? false : value;
}

/** Reads and validates the settings; throws `ConfigError` naming the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const defaults = new AppConfig();
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(defaults) as Array<keyof AppConfig>) raw[key] = defaults[key];
  for (const key of [
    'PORT',
    'HOST',
    'DATA_DIR',
    'EVENT_STORE',
    'EVENTSTORE_CONNECTION_STRING',
    'READ_MODEL_STORE',
    'KEY_STORE',
    'DATABASE_URL',
    'SQLITE_SYNCHRONOUS',
    'AUTH_JWT_SECRET',
    'AUTH_JWKS_URL',
    'AUTH_ISSUER',
    'AUTH_AUDIENCE',
    'AUTH_MAX_TTL',
    'IDEMPOTENCY_TTL',
    'AUTH_ROLE_CLAIM',
    'AUTH_SOCIETY_CLAIM',
    'DASHBOARD_MIN_GROUP',
    'DASHBOARD_OIDC_CLIENT_ID',
    'METRICS_TOKEN',
    'RATE_LIMIT_PER_MINUTE',
    'REQUEST_TIMEOUT_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'PROCESS_ROLE',
    'LEADER_TAKEOVER_MS',
    'LOG_LEVEL',
    'DOCS_ENABLED',
  ] as const) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = NUMERIC.has(key)
      ? /^\d+$/.test(value)
        ? Number(value)
        : value
      : BOOLEAN.has(key)
        ? parseBoolean(value)
        : value;
  }
  // The keys sit with the events by default: one database to run when that is PostgreSQL.
  if (!env.KEY_STORE) raw.KEY_STORE = raw.EVENT_STORE === 'postgres' ? 'postgres' : 'sqlite';
  const config = plainToInstance(AppConfig, raw);
  const [error] = validateSync(config, { stopAtFirstError: true });
  if (error) {
    const message = Object.values(error.constraints ?? {})[0] ?? `${error.property} is invalid`;
    const shown =
      typeof error.value === 'string' &&
      !error.property.includes('SECRET') &&
      !error.property.includes('TOKEN')
        ? ` (got "${error.value}")`
        : '';
    throw new ConfigError(`Configuration error: ${message}${shown}.`);
  }
  return Object.freeze(config);
}
