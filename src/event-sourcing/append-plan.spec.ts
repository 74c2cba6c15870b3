import { InvalidEventError } from './errors';
import { prepareAppend, timeOrderedUuid } from './append-plan';

describe('prepareAppend', () => {
  const metadata = {
    actor: { sub: 'tester', role: 'programme_admin' as const },
    correlationId: 'c-1',
    causationId: null,
    schemaVersion: 1,
  };

  it.each(['$metadata', '$>', '$user-created'])(
    "refuses type %j: '$' is reserved for system events, on every adapter",
    (type) => {
      const attempt = () => prepareAppend('stream-1', [{ type, data: {}, metadata }]);
      expect(attempt).toThrow(InvalidEventError);
      expect(attempt).toThrow(/must not start with '\$'/);
    },
  );

  it('accepts a type with a $ elsewhere', () => {
    expect(prepareAppend('stream-1', [{ type: 'Paid$', data: {}, metadata }]).events).toHaveLength(
      1,
    );
  });
});

describe('timeOrderedUuid', () => {
  it('is an RFC 9562 version 7 UUID carrying the time in its first 48 bits', () => {
    const id = timeOrderedUuid(Date.UTC(2026, 10, 26, 23, 59, 59, 123));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(
      Date.UTC(2026, 10, 26, 23, 59, 59, 123),
    );
  });

  it('sorts by time and does not repeat', () => {
    const ids = [1, 2, 1000, 5_000_000].map((ms) => timeOrderedUuid(1_700_000_000_000 + ms));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 10_000 }, () => timeOrderedUuid())).size).toBe(10_000);
  });
});
