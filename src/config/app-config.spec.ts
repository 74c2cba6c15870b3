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
    });
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
  });
});
