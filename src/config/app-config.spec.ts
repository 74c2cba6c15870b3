import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('given no settings, then it uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      EVENT_STORE: 'sqlite',
      READ_MODEL_STORE: 'sqlite',
      SQLITE_SYNCHRONOUS: 'NORMAL',
      RATE_LIMIT_PER_MINUTE: 600,
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
    [{ EVENT_STORE: 'eventstoredb' }, 'EVENTSTORE_CONNECTION_STRING must be set'],
    [{ SQLITE_SYNCHRONOUS: 'OFF' }, 'SQLITE_SYNCHRONOUS must be NORMAL or FULL'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 characters.'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 characters.'],
    [
      { RATE_LIMIT_PER_MINUTE: '-5' },
      'Configuration error: RATE_LIMIT_PER_MINUTE must be a whole number, 0 or more (0 turns it off) (got "-5").',
    ],
    [{ RATE_LIMIT_PER_MINUTE: 'lots' }, 'RATE_LIMIT_PER_MINUTE must be a whole number'],
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
