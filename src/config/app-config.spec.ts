import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('given no settings, then it uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      EVENT_STORE: 'sqlite',
      READ_MODEL_STORE: 'sqlite',
      KEY_STORE: 'sqlite',
      SQLITE_SYNCHRONOUS: 'NORMAL',
      AUTH_MAX_TTL: '12h',
      IDEMPOTENCY_TTL: '24h',
      AUTH_ROLE_CLAIM: 'role',
      AUTH_SOCIETY_CLAIM: 'society',
      DASHBOARD_MIN_GROUP: 5,
      RATE_LIMIT_PER_MINUTE: 600,
      REQUEST_TIMEOUT_MS: 10_000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      LOG_LEVEL: 'info',
      DOCS_ENABLED: true,
    });
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.dataDir).toBe(`${process.cwd()}/data`);
  });

  it('given valid settings, then it types them', () => {
    const config = loadConfig({
      PORT: '8080',
      EVENT_STORE: 'postgres',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/progress',
    });
    expect(config.PORT).toBe(8080);
    expect(config.EVENT_STORE).toBe('postgres');
  });

  it('keeps the keys with the events by default: in PostgreSQL when the events are', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/progress';
    expect(loadConfig({ EVENT_STORE: 'postgres', DATABASE_URL: url }).KEY_STORE).toBe('postgres');
    expect(loadConfig({ READ_MODEL_STORE: 'postgres', DATABASE_URL: url }).KEY_STORE).toBe(
      'sqlite',
    );
    expect(
      loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_CONNECTION_STRING: 'esdb://h:2113' })
        .KEY_STORE,
    ).toBe('sqlite');
    expect(loadConfig({ KEY_STORE: 'postgres', DATABASE_URL: url }).KEY_STORE).toBe('postgres');
    expect(
      loadConfig({ EVENT_STORE: 'postgres', KEY_STORE: 'sqlite', DATABASE_URL: url }).KEY_STORE,
    ).toBe('sqlite');
  });

  it('given an idempotency lifetime, then it keeps it', () => {
    expect(loadConfig({ IDEMPOTENCY_TTL: '90m' }).IDEMPOTENCY_TTL).toBe('90m');
    expect(loadConfig({ IDEMPOTENCY_TTL: '7d' }).IDEMPOTENCY_TTL).toBe('7d');
  });

  it('given an identity provider with its issuer, audience and claim names, then it keeps them', () => {
    const config = loadConfig({
      AUTH_JWKS_URL: 'https://id.example.org/.well-known/jwks.json',
      AUTH_ISSUER: 'https://id.example.org/',
      AUTH_AUDIENCE: 'participant-progress',
      AUTH_ROLE_CLAIM: 'https://cast.example.org/role',
      AUTH_SOCIETY_CLAIM: 'cast_society',
      AUTH_MAX_TTL: '30m',
      DASHBOARD_MIN_GROUP: '10',
    });
    expect(config).toMatchObject({
      AUTH_ISSUER: 'https://id.example.org/',
      AUTH_AUDIENCE: 'participant-progress',
      AUTH_ROLE_CLAIM: 'https://cast.example.org/role',
      AUTH_SOCIETY_CLAIM: 'cast_society',
      AUTH_MAX_TTL: '30m',
      DASHBOARD_MIN_GROUP: 10,
    });
  });

  it.each([
    'http://localhost:8080/jwks',
    'http://127.0.0.1/jwks',
    'http://127.3.4.5:9000/jwks',
    'http://[::1]:8080/jwks',
  ])('accepts plain http for a JWKS on this machine only: %s', (url) => {
    expect(
      loadConfig({ AUTH_JWKS_URL: url, AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' }).AUTH_JWKS_URL,
    ).toBe(url);
  });

  it('given the operations settings, then it types them (0 turns the rate limit off)', () => {
    const config = loadConfig({
      METRICS_TOKEN: 'scrape-me-0123456789',
      RATE_LIMIT_PER_MINUTE: '0',
      DOCS_ENABLED: 'false',
    });
    expect(config.METRICS_TOKEN).toBe('scrape-me-0123456789');
    expect(config.RATE_LIMIT_PER_MINUTE).toBe(0);
    expect(config.DOCS_ENABLED).toBe(false);
    expect(loadConfig({ DOCS_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '120' })).toMatchObject({
      DOCS_ENABLED: true,
      RATE_LIMIT_PER_MINUTE: 120,
    });
  });

  it('given request and shutdown timeouts, then it types them', () => {
    expect(loadConfig({ REQUEST_TIMEOUT_MS: '4000', SHUTDOWN_TIMEOUT_MS: '30000' })).toMatchObject({
      REQUEST_TIMEOUT_MS: 4000,
      SHUTDOWN_TIMEOUT_MS: 30_000,
    });
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])(
    'given LOG_LEVEL=%s, then it keeps it',
    (level) => {
      expect(loadConfig({ LOG_LEVEL: level }).LOG_LEVEL).toBe(level);
    },
  );

  it.each([
    [
      { PORT: 'abc' },
      'Configuration error: PORT must be a whole number between 1 and 65535 (got "abc").',
    ],
    [{ PORT: '70000' }, 'Configuration error: PORT must be a whole number between 1 and 65535.'],
    [
      { EVENT_STORE: 'mysql' },
      'Configuration error: EVENT_STORE must be one of sqlite, eventstoredb, postgres (got "mysql").',
    ],
    [{ EVENT_STORE: 'postgres' }, 'DATABASE_URL must be set'],
    [{ READ_MODEL_STORE: 'postgres' }, 'DATABASE_URL must be set'],
    [{ KEY_STORE: 'postgres' }, 'DATABASE_URL must be set'],
    [
      { KEY_STORE: 'vault' },
      'Configuration error: KEY_STORE must be one of sqlite, postgres (got "vault").',
    ],
    [
      { KEY_STORE: 'eventstoredb' },
      'Configuration error: KEY_STORE must be one of sqlite, postgres (got "eventstoredb").',
    ],
    [{ EVENT_STORE: 'eventstoredb' }, 'EVENTSTORE_CONNECTION_STRING must be set'],
    [{ SQLITE_SYNCHRONOUS: 'OFF' }, 'SQLITE_SYNCHRONOUS must be NORMAL or FULL'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 characters.'],
    [
      { AUTH_JWKS_URL: 'https://id.example.org/jwks', AUTH_AUDIENCE: 'progress' },
      'AUTH_ISSUER must be set',
    ],
    [
      { AUTH_JWKS_URL: 'https://id.example.org/jwks', AUTH_ISSUER: 'https://id.example.org/' },
      'AUTH_AUDIENCE must be set',
    ],
    [
      { AUTH_JWKS_URL: 'http://id.example.org/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' },
      'AUTH_JWKS_URL must be an https:// URL',
    ],
    [
      { AUTH_JWKS_URL: 'http://10.0.0.5/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' },
      'AUTH_JWKS_URL must be an https:// URL',
    ],
    [
      { AUTH_JWKS_URL: 'http://localhost.example.org/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' },
      'AUTH_JWKS_URL must be an https:// URL',
    ],
    [
      { AUTH_JWKS_URL: 'ftp://id.example.org/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' },
      'AUTH_JWKS_URL must be an https:// URL',
    ],
    [{ AUTH_JWKS_URL: 'not a url', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' }, 'AUTH_JWKS_URL must be'],
    [{ AUTH_MAX_TTL: '12' }, 'AUTH_MAX_TTL must be a lifetime such as 12h'],
    [{ AUTH_MAX_TTL: '0h' }, 'AUTH_MAX_TTL must be a lifetime such as 12h'],
    [
      { IDEMPOTENCY_TTL: '24' },
      'Configuration error: IDEMPOTENCY_TTL must be a lifetime such as 24h, 30m or 7d (a whole number and s, m, h, d or w) (got "24").',
    ],
    [{ IDEMPOTENCY_TTL: '0m' }, 'IDEMPOTENCY_TTL must be a lifetime such as 24h'],
    [{ IDEMPOTENCY_TTL: '1 day' }, 'IDEMPOTENCY_TTL must be a lifetime such as 24h'],
    [{ AUTH_ROLE_CLAIM: 'my role' }, 'AUTH_ROLE_CLAIM must be a claim name'],
    [{ AUTH_SOCIETY_CLAIM: ' ' }, 'AUTH_SOCIETY_CLAIM must be a claim name'],
    [{ DASHBOARD_MIN_GROUP: '0' }, 'DASHBOARD_MIN_GROUP must be a whole number of at least 1'],
    [{ DASHBOARD_MIN_GROUP: '2.5' }, 'DASHBOARD_MIN_GROUP must be a whole number of at least 1'],
    [{ DASHBOARD_MIN_GROUP: 'five' }, 'DASHBOARD_MIN_GROUP must be a whole number of at least 1'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 characters.'],
    [
      { RATE_LIMIT_PER_MINUTE: '-5' },
      'Configuration error: RATE_LIMIT_PER_MINUTE must be a whole number, 0 or more (0 turns it off) (got "-5").',
    ],
    [{ RATE_LIMIT_PER_MINUTE: 'lots' }, 'RATE_LIMIT_PER_MINUTE must be a whole number'],
    [
      { REQUEST_TIMEOUT_MS: '10s' },
      'Configuration error: REQUEST_TIMEOUT_MS must be a whole number of milliseconds, 1000 to 600000 (got "10s").',
    ],
    [{ REQUEST_TIMEOUT_MS: '500' }, 'REQUEST_TIMEOUT_MS must be a whole number of milliseconds'],
    [{ REQUEST_TIMEOUT_MS: '0' }, 'REQUEST_TIMEOUT_MS must be a whole number of milliseconds'],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, 'SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds'],
    [
      { SHUTDOWN_TIMEOUT_MS: '999999' },
      'SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds',
    ],
    [
      { LOG_LEVEL: 'verbose' },
      'Configuration error: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose").',
    ],
    [{ LOG_LEVEL: 'INFO' }, 'LOG_LEVEL must be one of fatal, error, warn, info'],
    [
      { DOCS_ENABLED: 'yes' },
      'Configuration error: DOCS_ENABLED must be true or false (got "yes").',
    ],
  ])('given %j, then start-up stops with one line naming it', (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('never echoes a secret back', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'tiny' })).toThrow(/^(?!.*tiny).*$/);
    expect(() => loadConfig({ METRICS_TOKEN: 'tiny' })).toThrow(/^(?!.*tiny).*$/);
  });
});
