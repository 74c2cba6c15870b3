import type { RecordedEvent } from '../../src/event-sourcing';
import { failureKind } from '../../src/shared/transient';
import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { PostgresReadModelStore } from '../../src/stores/read-models/postgres-read-model-store';
import { testEvent, uniqueStream } from '../support/events';
import { freshSchemaUrl } from '../support/postgres';
import { TcpProxy } from '../support/tcp-proxy';

// Bounds far below Jest's timeout and far above what a loaded machine needs.
const timeouts = { connectMs: 1000, statementMs: 2000, readMs: 2500 };

/** The failure of `work`, which must fail. */
async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

async function eventually(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('PostgreSQL stores through an outage (a proxy that cuts the connections)', () => {
  let proxy: TcpProxy;
  let url: string;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    url = await freshSchemaUrl();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(url).port || 5432) });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await proxy.close();
  });

  const openEventStore = (options: { proxied: boolean; pollIntervalMs?: number }) => {
    const store = new PostgresEventStore({
      connectionString: options.proxied ? proxy.urlFor(url) : url,
      timeouts,
      reconnectDelayMs: 100,
      pollIntervalMs: options.pollIntervalMs ?? 60_000,
    });
    closers.push(() => store.close());
    return store;
  };

  it('fails fast while refused, then appends, subscribes and LISTENs again by itself', async () => {
    // Polls once a minute: within the test, only a notification (or its own appends) wakes it.
    const store = openEventStore({ proxied: true });
    const other = openEventStore({ proxied: false });
    const stream = uniqueStream('outage');
    await store.append(stream, [testEvent('BeforeOutage')]);

    const received: RecordedEvent[] = [];
    const subscription = store.subscribeToAll(0);
    closers.unshift(() => subscription.close());
    void (async () => {
      for await (const event of subscription) received.push(event);
    })();
    await eventually(() => received.length === 1 && store.notificationsConnected);

    proxy.refuse();
    expect(failureKind(await failureOf(store.append(stream, [testEvent('DuringOutage')])))).toBe(
      'transient',
    );
    expect(failureKind(await failureOf(store.ping()))).toBe('transient');
    await eventually(() => !store.notificationsConnected);

    proxy.restore();
    // The pool connects anew: no restart.
    await store.append(stream, [testEvent('AfterOutage')]);
    await eventually(() => store.notificationsConnected);
    // Appended by another process: only the LISTEN connection, made again, can bring it now.
    await other.append(uniqueStream('elsewhere'), [testEvent('FromElsewhere')]);
    await eventually(() => received.length === 3);

    expect(received.map((event) => event.type)).toEqual([
      'BeforeOutage',
      'AfterOutage',
      'FromElsewhere',
    ]);
    expect(received.map((event) => event.position)).toEqual([1, 2, 3]);
    expect((await other.readStream(stream)).map((event) => event.revision)).toEqual([0, 1]);
  });

  it('gives up on a silent network within its bounds, as a transient failure, and recovers', async () => {
    const store = openEventStore({ proxied: true });
    const stream = uniqueStream('silent');
    await store.append(stream, [testEvent('BeforeOutage')]);

    proxy.silence();
    const started = Date.now();
    const failed = await failureOf(store.append(stream, [testEvent('Lost')]));
    // Bounded by the read timeout (2.5 s), not by TCP; generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failureKind(failed)).toBe('transient');

    proxy.restore();
    await store.append(stream, [testEvent('AfterOutage')]);
    expect((await store.readStream(stream)).map((event) => event.type)).toEqual([
      'BeforeOutage',
      'AfterOutage',
    ]);
  });

  it('opened while the database is down, makes its schema once it is back', async () => {
    proxy.refuse();
    const store = openEventStore({ proxied: true });
    const readModels = new PostgresReadModelStore(proxy.urlFor(url), { timeouts });
    closers.push(() => readModels.close());
    expect(failureKind(await failureOf(store.ping()))).toBe('transient');
    expect(failureKind(await failureOf(readModels.activeGeneration('p')))).toBe('transient');

    proxy.restore();
    await store.ping();
    await store.append(uniqueStream('late'), [testEvent('Started')]);
    expect(await store.headPosition()).toBe(1);
    await readModels.createGeneration('p', 1, 1);
    expect(await readModels.generation('p', 1)).toMatchObject({ generation: 1, position: 0 });
  });
});
