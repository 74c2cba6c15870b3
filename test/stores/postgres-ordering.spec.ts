import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import type { RecordedEvent } from '../../src/event-sourcing';
import { testEvent, uniqueStream } from '../support/events';
import { freshSchemaUrl } from '../support/postgres';

// The PostgreSQL-specific risk: a writer that took its position early but commits late. A
// reader that had checkpointed past that position would skip the event for ever.
describe('PostgresEventStore: a late commit is never skipped', () => {
  let connectionString: string;
  const stores: PostgresEventStore[] = [];
  const open = (beforeCommit?: () => Promise<void>) => {
    const store = new PostgresEventStore({
      connectionString,
      pollIntervalMs: 50,
      ...(beforeCommit ? { beforeCommit } : {}),
    });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    connectionString = await freshSchemaUrl();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('holds back a later writer until the slow one commits, so the reader sees both, in order', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let slowOnce = true;
    const slow = open(async () => {
      if (slowOnce) {
        slowOnce = false;
        await gate;
      }
    });
    const fast = open();
    const reader = open();
    await Promise.all([slow.ping(), fast.ping(), reader.ping()]);

    const slowAppend = slow.append(uniqueStream('slow'), [testEvent('SlowCommitted')]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    let fastDone = false;
    const fastAppend = fast
      .append(uniqueStream('fast'), [testEvent('FastCommitted')])
      .then((result) => {
        fastDone = true;
        return result;
      });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fastDone).toBe(false);
    expect(await reader.readAll(0, 10)).toEqual([]);

    const subscription = reader.subscribeToAll(0);
    const received: RecordedEvent[] = [];
    const consuming = (async () => {
      for await (const event of subscription) {
        received.push(event);
        if (received.length === 2) break;
      }
    })();
    release();
    const [slowResult, fastResult] = await Promise.all([slowAppend, fastAppend]);
    await consuming;
    await subscription.close();
    expect(slowResult.position).toBe(1);
    expect(fastResult.position).toBe(2);
    expect(received.map((event) => [event.position, event.type])).toEqual([
      [1, 'SlowCommitted'],
      [2, 'FastCommitted'],
    ]);
  });

  it('delivers every event once, in position order, while four writers commit with random delays', async () => {
    const jitter = () =>
      new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
    const writers = [open(jitter), open(jitter), open(jitter), open(jitter)];
    const reader = open();
    await reader.ping();
    const subscription = reader.subscribeToAll(0);
    const total = 200;
    const received: RecordedEvent[] = [];
    const consuming = (async () => {
      for await (const event of subscription) {
        received.push(event);
        if (received.length === total) break;
      }
    })();
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < total / writers.length; i += 1) {
          await writer.append(uniqueStream(`w${w}`), [testEvent('Written', { w, i })]);
        }
      }),
    );
    await consuming;
    await subscription.close();
    expect(received.map((event) => event.position)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
  });

  it('rolls positions back with a failed transaction, leaving no gap', async () => {
    let failOnce = true;
    const store = open(() => {
      if (failOnce) {
        failOnce = false;
        return Promise.reject(new Error('connection lost before commit'));
      }
      return Promise.resolve();
    });
    await expect(store.append(uniqueStream(), [testEvent('Lost')])).rejects.toThrow(
      'connection lost before commit',
    );
    const result = await store.append(uniqueStream(), [testEvent('Kept')]);
    expect(result.position).toBe(1);
    expect((await store.readAll(0, 10)).map((event) => event.type)).toEqual(['Kept']);
  });
});
