import { NotFoundException } from '@nestjs/common';
import { toProblem } from './problem-details';

const driverError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('toProblem: a store that cannot serve the request now', () => {
  it.each([
    [
      'PostgreSQL refuses connections',
      driverError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432'),
    ],
    [
      'PostgreSQL shuts down',
      driverError('57P01', 'terminating connection due to administrator command'),
    ],
    ['the pool cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['a statement timeout', driverError('57014', 'canceling statement due to statement timeout')],
  ])('%s: 503 STORE_UNAVAILABLE with Retry-After, never the driver text', (_name, error) => {
    const { document, headers } = toProblem(error);
    expect(document).toEqual({
      type: '/problems/store-unavailable',
      title: 'Service unavailable',
      status: 503,
      code: 'STORE_UNAVAILABLE',
      detail: 'The event store is unavailable; try again shortly.',
    });
    expect(headers).toEqual({ 'retry-after': '5' });
  });

  it.each([
    ['SQLite disk full', driverError('SQLITE_FULL', 'database or disk is full')],
    ['SQLite read-only', driverError('SQLITE_READONLY', 'attempt to write a readonly database')],
    ['SQLite write I/O error', driverError('SQLITE_IOERR_WRITE', 'disk I/O error')],
    [
      'no space for a file',
      driverError('ENOSPC', "ENOSPC: no space left on device, open '/data/x'"),
    ],
    ['read-only file system', driverError('EROFS', "EROFS: read-only file system, open '/data/x'")],
  ])('%s: 503 STORE_NOT_WRITABLE, saying what to free', (_name, error) => {
    const { document, headers } = toProblem(error);
    expect(document).toMatchObject({ status: 503, code: 'STORE_NOT_WRITABLE' });
    expect(document.detail).toMatch(/^The embedded store cannot write \(disk full or read-only\)/);
    expect(document.detail).not.toContain('/data');
    expect(headers).toEqual({ 'retry-after': '5' });
  });

  it('leaves what a retry cannot fix as it was: a bug is still 500, a refusal its own status', () => {
    expect(toProblem(driverError('23505', 'duplicate key')).document.status).toBe(500);
    expect(toProblem(new TypeError('x is undefined')).document.status).toBe(500);
    expect(toProblem(new NotFoundException('Resource unavailable')).document.status).toBe(404);
  });
});
