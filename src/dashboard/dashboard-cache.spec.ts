import { DashboardCache, quarterHourOf } from './dashboard-cache';

describe('DashboardCache', () => {
  it('computes once for concurrent requests with the same key', async () => {
    const cache = new DashboardCache();
    let computations = 0;
    let release!: (value: number) => void;
    const compute = () => {
      computations += 1;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const answers = Promise.all([cache.get('a', compute), cache.get('a', compute)]);
    release(42);
    expect(await answers).toEqual([42, 42]);
    expect(await cache.get('a', compute)).toBe(42);
    expect(computations).toBe(1);
  });

  it('computes again for a new key, and drops the oldest entries past its capacity', async () => {
    const cache = new DashboardCache(2);
    let computations = 0;
    const compute = () => Promise.resolve((computations += 1));
    await cache.get('a', compute);
    await cache.get('b', compute);
    await cache.get('c', compute);
    expect(await cache.get('b', compute)).toBe(2);
    expect(await cache.get('a', compute)).toBe(4);
  });

  it('does not remember a failure', async () => {
    const cache = new DashboardCache();
    await expect(cache.get('a', () => Promise.reject(new Error('store down')))).rejects.toThrow(
      'store down',
    );
    expect(await cache.get('a', () => Promise.resolve('ok'))).toBe('ok');
  });

  it('puts instants in the same quarter-hour together and no others', () => {
    const at = (iso: string) => quarterHourOf(new Date(iso));
    expect(at('2026-06-30T15:59:59.999Z')).toBe(at('2026-06-30T15:45:00.000Z'));
    // 16:00Z is midnight in Shanghai (UTC+8): the local date changes, and so must the key.
    expect(at('2026-06-30T16:00:00.000Z')).not.toBe(at('2026-06-30T15:59:59.999Z'));
  });
});
