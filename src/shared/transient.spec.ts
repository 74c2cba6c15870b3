import { blamesStore, failureKind, isDiskFailure } from './transient';

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
    ['SQLite write I/O error', withCode('SQLITE_IOERR_WRITE')],
    ['disk full (file system)', withCode('ENOSPC')],
    ['read-only file system', withCode('EROFS')],
    ['pg pool after a lost connection', new Error('Connection terminated unexpectedly')],
    ['pg pool cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['pg query on a silent connection', new Error('Query read timeout')],
    ['statement timeout', withCode('57014', 'canceling statement due to statement timeout')],
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

describe('blamesStore', () => {
  it.each([
    ['a missing table (PostgreSQL)', withCode('42P01', 'relation "rm_documents" does not exist')],
    ['a missing privilege', withCode('42501', 'permission denied for table rm_documents')],
    ['a damaged SQLite file', withCode('SQLITE_CORRUPT', 'database disk image is malformed')],
    ['a missing table (SQLite)', withCode('SQLITE_ERROR', 'no such table: rm_documents')],
  ])('%s is the store’s fault', (_name, error) => {
    expect(blamesStore(error)).toBe(true);
  });

  it.each([
    ['a NUL jsonb refuses', withCode('22P05', 'unsupported Unicode escape sequence')],
    ['an index entry too large', withCode('54000', 'index row size 6104 exceeds btree maximum')],
    ['a constraint', withCode('23505')],
    ['a value too big for SQLite', withCode('SQLITE_TOOBIG', 'string or blob too big')],
    ['a document JSON cannot hold', new TypeError('Do not know how to serialize a BigInt')],
  ])('%s is about the data', (_name, error) => {
    expect(blamesStore(error)).toBe(false);
  });
});

describe('isDiskFailure', () => {
  it.each([
    'SQLITE_FULL',
    'SQLITE_READONLY',
    'SQLITE_READONLY_DBMOVED',
    'SQLITE_IOERR_WRITE',
    'ENOSPC',
    'EROFS',
  ])('%s is the disk refusing a write', (code) => {
    expect(isDiskFailure(withCode(code))).toBe(true);
    expect(isDiskFailure(Object.assign(new Error('outer'), { cause: withCode(code) }))).toBe(true);
  });

  it.each(['ECONNREFUSED', 'SQLITE_BUSY', '53100', '57P01'])('%s is not', (code) => {
    expect(isDiskFailure(withCode(code))).toBe(false);
  });
});
