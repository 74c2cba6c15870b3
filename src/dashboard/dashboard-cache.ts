/**
 * Remembers dashboard answers, and lets concurrent requests for the same one share a single
 * computation. A dashboard reads its society's totals (the rollups) and reads pace once per
 * distinct set of facts: a fraction of a millisecond, which 50 dashboards polling at once would
 * still each pay on the one event-loop thread. The caller's key must change whenever the answer could: the read models'
 * generations and checkpoints (events applied) and the quarter-hour (pace depends on each
 * participant's local date, and every time zone's offset is a multiple of 15 minutes).
 *
 * Not a TTL cache (cache-manager's model): an entry is never stale, it is simply not asked for
 * again once the read models move on, and the oldest entries are dropped past `capacity`.
 */
export class DashboardCache {
  private readonly entries = new Map<string, Promise<unknown>>();

  constructor(private readonly capacity = 256) {}

  /** The answer under `key`, computing it (once, however many ask meanwhile) when missing. */
  get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const known = this.entries.get(key);
    if (known) return known as Promise<T>;
    const pending = compute();
    this.entries.set(key, pending);
    // A failed computation is not remembered: the next request tries again.
    pending.catch(() => this.entries.delete(key));
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return pending;
  }
}

/** The quarter-hour `now` falls in: no local date anywhere changes within one. */
export function quarterHourOf(now: Date): number {
  return Math.floor(now.getTime() / (15 * 60 * 1000));
}
