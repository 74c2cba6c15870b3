import { failureKind } from './transient';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('failureKind', () => {
  it.each([
    ['PostgreSQL down', withCode('ECONNREFUSED')],
    ['PostgreSQL restarting', withCode('57P03')],
    ['admin shutdown', withCode('57P01')],
    ['connection lost', withCode('08006')],
    ['serialization failure', withCode('40001')],
    ['deadlock', withCode('40P01')],
    ['disk full (PostgreSQL)', withCode('53100')],
    ['lock timeout', withCode('55P03')],
    ['SQLite busy', withCode('SQLITE_BUSY_SNAPSHOT')],
    ['SQLite disk full', withCode('SQLITE_FULL')],
    ['SQLite read-only file', withCode('SQLITE_READONLY')],
    ['pg pool after a lost connection', new Error('Connection terminated unexpectedly')],
    ['wrapped', Object.assign(new Error('outer'), { cause: withCode('ECONNRESET') })],
  ])('%s is transient', (_name, error) => {
    expect(failureKind(error)).toBe('transient');
  });

  it.each([
    ['a NUL PostgreSQL will not store', withCode('22P05', 'unsupported Unicode escape sequence')],
    ['a constraint', withCode('23505')],
    ['SQLite constraint', withCode('SQLITE_CONSTRAINT_UNIQUE')],
    ['an evolve that throws', new TypeError('Cannot read properties of undefined')],
    ['not an error', 'text'],
  ])('%s is permanent', (_name, error) => {
    expect(failureKind(error)).toBe('permanent');
  });
});
