import type { ProjectionStatus } from '../projections/projection-runner';
import { projectionsTrouble } from './projections-readiness';

const since = new Date('2026-12-01T10:00:00.000Z');
const at = (seconds: number) => since.getTime() + seconds * 1000;
const retrying = (kind: 'transient' | 'permanent'): ProjectionStatus => ({
  position: 40,
  leading: true,
  retrying: { since, attempts: 6, lastError: 'connect ECONNREFUSED', kind },
});

describe('projectionsTrouble', () => {
  it('lets projections that run, or retry a transient failure for a few seconds, be ready', () => {
    const status = new Map([
      ['progress', { position: 41, leading: true }],
      ['timeline', retrying('transient')],
    ]);
    expect(projectionsTrouble(status, at(0))).toBeUndefined();
    expect(projectionsTrouble(status, at(5))).toBeUndefined();
  });

  it('names a projection retrying a transient failure past the grace, and a permanent one at once', () => {
    expect(projectionsTrouble(new Map([['timeline', retrying('transient')]]), at(6))).toBe(
      'timeline failing since 2026-12-01T10:00:00.000Z (6 attempts): connect ECONNREFUSED',
    );
    expect(
      projectionsTrouble(
        new Map([
          ['progress', retrying('permanent')],
          ['timeline', { position: 41, leading: true }],
        ]),
        at(0),
      ),
    ).toMatch(/^progress failing since/);
  });
});
