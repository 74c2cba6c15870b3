import type { RecordedEvent } from './event';
import { PollingSubscription, type PollingSource } from './polling-subscription';

const event = (position: number): RecordedEvent => ({
  eventId: `00000000-0000-7000-8000-${String(position).padStart(12, '0')}`,
  streamName: 's-1',
  revision: position - 1,
  position,
  type: 'Happened',
  data: {},
  metadata: {
    actor: { sub: 'test', role: 'programme_admin' },
    correlationId: 'c-1',
    causationId: null,
    schemaVersion: 1,
  },
  recordedAt: '2025-01-01T00:00:00.000Z',
  prevHash: null,
  hash: `h${position}`,
});

/** A log in memory whose reads fail while `down` holds the error to throw. */
class FlakyLog implements PollingSource {
  readonly events: RecordedEvent[] = [];
  down: Error | undefined;
  failedReads = 0;
  private readonly listeners = new Set<() => void>();

  append(count: number): void {
    for (let i = 0; i < count; i += 1) this.events.push(event(this.events.length + 1));
    for (const listener of this.listeners) listener();
  }

  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    if (this.down) {
      this.failedReads += 1;
      return Promise.reject(this.down);
    }
    return Promise.resolve(
      this.events.filter((e) => e.position > afterPosition).slice(0, maxCount),
    );
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const unreachable = () =>
  Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

async function take(subscription: PollingSubscription, count: number): Promise<number[]> {
  const positions: number[] = [];
  for await (const e of subscription) {
    positions.push(e.position);
    if (positions.length === count) break;
  }
  return positions;
}

describe('PollingSubscription', () => {
  it('while reads fail with a retryable error, waits and reads again from where it stopped', async () => {
    const log = new FlakyLog();
    log.append(3);
    const subscription = new PollingSubscription(log, 0, {
      batchSize: 2,
      pollIntervalMs: 10,
      retryDelayMs: 5,
      retryable: (error) => (error as { code?: string }).code === 'ECONNREFUSED',
    });
    const received: number[] = [];
    const iterator = subscription[Symbol.asyncIterator]();
    received.push((await iterator.next()).value.position, (await iterator.next()).value.position);

    log.down = unreachable();
    const rest = (async () => {
      for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
        received.push(result.value.position);
        if (received.length === 6) return;
      }
    })();
    while (log.failedReads < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    log.down = undefined;
    log.append(3);
    await rest;
    await subscription.close();

    // Nothing skipped, nothing twice.
    expect(received).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ends with the error when a read fails in a way a retry cannot fix', async () => {
    const log = new FlakyLog();
    log.down = new TypeError('bad row');
    const subscription = new PollingSubscription(log, 0, {
      retryable: (error) => (error as { code?: string }).code === 'ECONNREFUSED',
    });
    await expect(take(subscription, 1)).rejects.toThrow('bad row');
    expect(log.failedReads).toBe(1);
  });

  it('retries nothing unless told which errors may pass', async () => {
    const log = new FlakyLog();
    log.down = unreachable();
    await expect(take(new PollingSubscription(log, 0), 1)).rejects.toThrow('ECONNREFUSED');
  });

  it('a close while it waits to retry ends it at once', async () => {
    const log = new FlakyLog();
    log.down = unreachable();
    const subscription = new PollingSubscription(log, 0, {
      retryDelayMs: 60_000,
      retryable: () => true,
    });
    const taking = take(subscription, 1);
    while (log.failedReads < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await subscription.close();
    await expect(taking).resolves.toEqual([]);
  });
});
