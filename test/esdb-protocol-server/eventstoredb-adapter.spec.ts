import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { AccessDeniedError, UnknownError } from '@eventstore/db-client';
import type { EventStoreError, RecordedEvent } from '../../src/event-sourcing';
import {
  EventStoreDbEventStore,
  EventStoreDbTimeoutError,
  ForeignEventError,
  StreamRevisionMismatchError,
  type EventStoreDbOptions,
} from '../../src/stores/eventstoredb/eventstoredb-event-store';
import { failureKind } from '../../src/shared/transient';
import { testEvent, uniqueStream } from '../support/events';
import { EsdbProtocolServer, type EsdbProtocolServerOptions } from './esdb-protocol-server';

// The defects of issue #15, each shown against the protocol-level test server (not EventStoreDB:
// see esdb-protocol-server.ts). Every test would fail on the adapter before the fix.

let server: EsdbProtocolServer;
let store: EventStoreDbEventStore;
let warnings: string[];

async function open(
  serverOptions: EsdbProtocolServerOptions = {},
  storeOptions: Partial<EventStoreDbOptions> = {},
): Promise<void> {
  server = await new EsdbProtocolServer(serverOptions).start();
  warnings = [];
  store = new EventStoreDbEventStore({
    connectionString: server.connectionString,
    retryBaseMs: 5,
    retryMaxMs: 50,
    log: { warn: (line) => warnings.push(line) },
    ...storeOptions,
  });
}

afterEach(async () => {
  await store.close();
  await server.stop();
});

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}

// What the store's metadata looks like to a writer that is not the service.
const foreign = { $correlationId: 'x' };

describe('EventStoreDB adapter over the protocol-level test server', () => {
  describe('1. readAll pages from the last record exclusively', () => {
    it('returns each event once when a page skipped system records and ended on one of ours', async () => {
      await open();
      const stream = uniqueStream();
      server.writeSystemEvents(2);
      await store.append(stream, [testEvent('A')]);
      server.writeSystemEvents(2);
      await store.append(stream, [testEvent('B')]);
      server.writeSystemEvents(1);
      await store.append(stream, [testEvent('C')]);
      const types = async (after: number, size: number) => {
        const seen: string[] = [];
        for (;;) {
          const page = await store.readAll(after, size);
          if (page.length === 0) return seen;
          seen.push(...page.map((event) => event.type));
          after = page[page.length - 1]!.position;
        }
      };
      for (const size of [1, 2, 3, 10]) expect(await types(0, size)).toEqual(['A', 'B', 'C']);
      const [a] = await store.readAll(0, 1);
      expect((await store.readAll(a!.position, 1)).map((event) => event.type)).toEqual(['B']);
    });

    it('answers [] for maxCount <= 0 instead of looping', async () => {
      await open();
      await store.append(uniqueStream(), [testEvent()]);
      expect(await withTimeout(store.readAll(0, 0), 2000)).toEqual([]);
      expect(await withTimeout(store.readAll(0, -5), 2000)).toEqual([]);
    });
  });

  describe('2. the subscription surfaces errors, retries only transient ones', () => {
    it('ends with access denied instead of retrying it for ever', async () => {
      await open();
      server.failNextSubscription({ code: status.PERMISSION_DENIED, exception: 'access-denied' });
      const subscription = store.subscribeToAll(0);
      const error = await withTimeout(failure(subscription[Symbol.asyncIterator]().next()), 3000);
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(warnings).toEqual([]);
    });

    it('ends with a refused request (bad start position or filter)', async () => {
      await open();
      server.failNextSubscription({ code: status.INVALID_ARGUMENT, details: 'bad position' });
      const subscription = store.subscribeToAll(0);
      const error = await withTimeout(failure(subscription[Symbol.asyncIterator]().next()), 3000);
      expect(error).toBeInstanceOf(UnknownError);
    });

    it('survives a connection dropped mid-subscription: resubscribes with backoff and a log line, no gaps or repeats', async () => {
      await open();
      const stream = uniqueStream();
      for (let i = 0; i < 3; i += 1) await store.append(stream, [testEvent('Tick', { i })]);
      const subscription = store.subscribeToAll(0);
      const iterator = subscription[Symbol.asyncIterator]();
      const received: RecordedEvent[] = [];
      for (let i = 0; i < 3; i += 1) received.push((await iterator.next()).value as RecordedEvent);
      server.failNextSubscription({ code: status.UNAVAILABLE });
      server.failNextSubscription({ code: status.UNAVAILABLE });
      server.dropCalls(status.UNAVAILABLE);
      for (let i = 3; i < 6; i += 1) await store.append(stream, [testEvent('Tick', { i })]);
      for (let i = 3; i < 6; i += 1) received.push((await iterator.next()).value as RecordedEvent);
      await subscription.close();
      expect(received.map((event) => event.data.i)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toMatch(/subscription to \$all dropped \(UnavailableError.*retry 1\)/);
      expect(warnings[2]).toMatch(/retry 3\)/);
      // Each resubscription started after the last delivered event, not from the start.
      const subscribes = server.calls.filter((call) => call.method === 'subscribe');
      expect(subscribes).toHaveLength(4);
    });

    it('converts before it advances: an event it cannot convert is an error, never skipped', async () => {
      await open();
      const stream = uniqueStream();
      await store.append(stream, [testEvent('Good')]);
      server.writeRaw(stream, 'Foreign', { x: 1 }, foreign);
      await store.append(uniqueStream(), [testEvent('After')]);
      const subscription = store.subscribeToAll(0);
      const iterator = subscription[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as RecordedEvent;
      expect(first.type).toBe('Good');
      expect(await withTimeout(failure(iterator.next()), 3000)).toBeInstanceOf(ForeignEventError);
      // A new subscription after the last delivered event meets the same event again.
      const again = store.subscribeToAll(first.position);
      const error = await withTimeout(failure(again[Symbol.asyncIterator]().next()), 3000);
      expect(error).toBeInstanceOf(ForeignEventError);
      expect(warnings).toEqual([]);
    });
  });

  describe('3. reads are cancelled when done and bounded in time', () => {
    it('headPosition cancels its read of $all once it found our event', async () => {
      await open({ readPaceMs: 5 });
      server.writeSystemEvents(600);
      const { position } = await store.append(uniqueStream(), [testEvent()]);
      expect(await store.headPosition()).toBe(position);
      const head = server.calls.filter(
        (call) => call.target === '$all' && call.direction === 'backwards',
      );
      expect(head).toHaveLength(1);
      await eventually(() => head[0]!.cancelled);
      expect(head[0]!.sent).toBeLessThan(500);
      expect(server.liveCalls.filter((call) => call.method === 'read')).toEqual([]);
    });

    it('a consumer leaving the subscription loop cancels the call and forgets the subscription', async () => {
      await open();
      const stream = uniqueStream();
      await store.append(stream, [testEvent('One'), testEvent('Two')]);
      const subscription = store.subscribeToAll(0);
      for await (const event of subscription) {
        expect(event.type).toBe('One');
        break;
      }
      const [call] = server.calls.filter((c) => c.method === 'subscribe');
      await eventually(() => call!.cancelled);
      expect((store as unknown as { subscriptions: Set<unknown> }).subscriptions.size).toBe(0);
    });

    it('ping and the head of a stream give up on a server that does not answer, cancelling the call', async () => {
      await open({}, { readTimeoutMs: 200 });
      server.stallReads(1);
      const started = Date.now();
      const error = await withTimeout(failure(store.ping()), 3000);
      expect(error).toBeInstanceOf(EventStoreDbTimeoutError);
      // A stalled store is unavailable, as a stalled PostgreSQL is: 503 with Retry-After, not 500.
      expect(failureKind(error)).toBe('transient');
      expect(Date.now() - started).toBeLessThan(2000);
      server.stallReads(1);
      const append = await withTimeout(failure(store.append(uniqueStream(), [testEvent()])), 3000);
      expect(append).toBeInstanceOf(EventStoreDbTimeoutError);
      await eventually(() => server.liveCalls.every((call) => call.method !== 'read'));
      expect(server.calls.filter((call) => call.method === 'read' && !call.ended)).toHaveLength(2);
    });

    it('closes promptly after reads it stopped early (the client waits for every call to end)', async () => {
      // The server in a process of its own: there it has sent a whole page and its end before
      // the client takes the first event, which is when an unconsumed call never ends.
      await open();
      const child = spawn(
        process.execPath,
        ['-r', '@swc-node/register', join(__dirname, 'serve.ts')],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const exited = once(child, 'exit');
      try {
        const [line] = (await once(child.stdout, 'data')) as [Buffer];
        await closesPromptly(line.toString().trim());
      } finally {
        child.stdin.end();
        await exited;
      }
    });

    async function closesPromptly(connectionString: string): Promise<void> {
      const store = new EventStoreDbEventStore({ connectionString });
      const other = new EventStoreDbEventStore({ connectionString });
      const streams = Array.from({ length: 60 }, () => uniqueStream());
      await Promise.all(
        streams.map((stream, i) => (i % 2 ? store : other).append(stream, [testEvent()])),
      );
      let after = 0;
      for (;;) {
        const page = await store.readAll(after, 7);
        if (page.length === 0) break;
        after = page[page.length - 1]!.position;
      }
      await store.headPosition();
      await store.ping();
      // A subscription left after its first event, with the rest of the catch-up in flight.
      for await (const _ of store.subscribeToAll(0)) break;
      expect(await withTimeout(other.close(), 3000)).toBeUndefined();
      expect(await withTimeout(store.close(), 3000)).toBeUndefined();
    }

    it('leaves no read open after paging $all and reading streams', async () => {
      await open({ readPaceMs: 2 });
      const stream = uniqueStream();
      for (let i = 0; i < 5; i += 1)
        await store.append(
          stream,
          [0, 1, 2, 3, 4].map((n) => testEvent('Many', { n })),
        );
      server.writeSystemEvents(200);
      expect(await store.readAll(0, 3)).toHaveLength(3);
      await store.readStream(stream, { maxCount: 2 });
      await store.ping();
      await store.headPosition();
      await eventually(() => server.liveCalls.every((call) => call.method !== 'read'));
    });
  });

  describe('4. headPosition pages back past system records', () => {
    it('finds our event behind 600 system records at the tail', async () => {
      await open();
      const { position } = await store.append(uniqueStream(), [testEvent()]);
      server.writeSystemEvents(600);
      expect(await store.headPosition()).toBe(position);
    });

    it('answers 0 when $all holds only system records', async () => {
      await open();
      server.writeSystemEvents(510);
      expect(await store.headPosition()).toBe(0);
    });
  });

  describe('5. one definition of system events, and the metadata checked before mapping', () => {
    it('leaves out $-typed events and events in $ streams alike in reads, the head and the subscription', async () => {
      await open();
      const stream = uniqueStream();
      await store.append(stream, [testEvent('Ours', { n: 1 })]);
      server.writeRaw('$ce-test', 'SomethingHappened', {}, {});
      server.writeRaw(uniqueStream(), '$user-created', {}, {});
      server.writeRaw('$$' + stream, '$metadata', {}, undefined);
      await store.append(stream, [testEvent('Ours', { n: 2 })]);
      server.writeRaw('$ce-test', 'SomethingHappened', {}, {});
      const read = await store.readAll(0, 100);
      expect(read.map((event) => event.data.n)).toEqual([1, 2]);
      expect(await store.headPosition()).toBe(read[1]!.position);
      const subscription = store.subscribeToAll(0);
      const iterator = subscription[Symbol.asyncIterator]();
      const live = [
        (await iterator.next()).value,
        (await iterator.next()).value,
      ] as RecordedEvent[];
      expect(live.map((event) => event.data.n)).toEqual([1, 2]);
      const third = withTimeout(iterator.next(), 300);
      expect(await third).toBe('timeout');
      await subscription.close();
    });

    it('refuses to append a $-typed event: INVALID_EVENT', async () => {
      await open();
      const error = (await failure(
        store.append(uniqueStream(), [testEvent('$user-created')]),
      )) as EventStoreError;
      expect(error.code).toBe('INVALID_EVENT');
      expect(server.calls.filter((call) => call.method === 'batchAppend')).toEqual([]);
    });

    it('reports an event without our metadata as foreign, on reads, instead of crashing', async () => {
      await open();
      const stream = uniqueStream();
      server.writeRaw(stream, 'Foreign', { x: 1 }, undefined);
      const error = await failure(store.readStream(stream));
      expect(error).toBeInstanceOf(ForeignEventError);
      expect(error.message).toContain(stream);
      expect(await failure(store.readAll(0, 10))).toBeInstanceOf(ForeignEventError);
    });
  });

  describe('6. appends', () => {
    it('maps the server’s maximum append size to EVENT_TOO_LARGE', async () => {
      await open({ maxAppendSize: 1000 });
      const stream = uniqueStream();
      const error = (await failure(
        store.append(stream, [testEvent('Big', { blob: 'x'.repeat(2000) })]),
      )) as EventStoreError & { limitBytes: number };
      expect(error.code).toBe('EVENT_TOO_LARGE');
      expect(error.limitBytes).toBe(1000);
      expect(server.records.filter((record) => record.streamId === stream)).toEqual([]);
    });

    it('gives up on `any` with CONCURRENCY_CONFLICT when other writers keep winning', async () => {
      await open({}, { maxAppendAttempts: 3 });
      const stream = uniqueStream();
      await store.append(stream, [testEvent()]);
      let competitors = 0;
      server.beforeAppend = (streamId) => {
        if (streamId !== stream) return;
        competitors += 1;
        server.writeCopyOfLast(stream);
      };
      const error = (await failure(store.append(stream, [testEvent('Mine')]))) as EventStoreError;
      expect(error.code).toBe('CONCURRENCY_CONFLICT');
      expect(competitors).toBe(3);
      expect((await store.readStream(stream)).map((event) => event.type)).not.toContain('Mine');
      server.beforeAppend = undefined;
    });

    it.each([
      ['unavailable', status.UNAVAILABLE],
      ['deadline exceeded', status.DEADLINE_EXCEEDED],
    ])(
      'after an ambiguous failure (%s) that did write, answers from a re-read: written once',
      async (_name, code) => {
        await open();
        const stream = uniqueStream();
        await store.append(stream, [testEvent('First')]);
        server.failNextAppend({ code, afterWrite: true });
        const result = await store.append(stream, [testEvent('Second'), testEvent('Third')]);
        const events = await store.readStream(stream);
        expect(events.map((event) => event.type)).toEqual(['First', 'Second', 'Third']);
        expect(result).toEqual({ nextRevision: 2, position: events[2]!.position });
      },
    );

    it('never writes twice when the re-read after an ambiguous failure fails too', async () => {
      await open({}, { readTimeoutMs: 200 });
      const stream = uniqueStream();
      await store.append(stream, [testEvent('First')]);
      server.failNextAppend({ code: status.UNAVAILABLE, afterWrite: true });
      // The read that looks for the written events gets no answer.
      server.beforeAppend = () => {
        server.beforeAppend = undefined;
        server.stallReads(1);
      };
      const error = await failure(store.append(stream, [testEvent('Second')]));
      expect(error).toBeInstanceOf(EventStoreDbTimeoutError);
      expect((await store.readStream(stream)).map((event) => event.type)).toEqual([
        'First',
        'Second',
      ]);
    });

    it('after an ambiguous failure that did not write, retries once with a log line', async () => {
      await open();
      const stream = uniqueStream();
      server.failNextAppend({ code: status.UNAVAILABLE });
      const result = await store.append(stream, [testEvent('Only')], {
        expectedRevision: 'no_stream',
      });
      expect(result.nextRevision).toBe(0);
      expect((await store.readStream(stream)).map((event) => event.type)).toEqual(['Only']);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/append to '.*' failed \(UnavailableError.*attempt 2 of 5/);
    });

    it('a failed shared append stream rejects every append in flight; each is written exactly once', async () => {
      await open();
      const streams = [uniqueStream(), uniqueStream(), uniqueStream()];
      server.failNextAppend({ code: status.UNAVAILABLE, afterWrite: true });
      const results = await Promise.all(
        streams.map((stream) => store.append(stream, [testEvent('Once', {}, randomUUID())])),
      );
      expect(results.map((result) => result.nextRevision)).toEqual([0, 0, 0]);
      for (const stream of streams) expect(await store.readStream(stream)).toHaveLength(1);
    });

    it('checks the next expected revision: a soft-deleted stream is not silently re-chained', async () => {
      await open();
      const stream = uniqueStream();
      await store.append(stream, [testEvent('A'), testEvent('B')]);
      server.softDelete(stream);
      const error = (await failure(
        store.append(stream, [testEvent('C')]),
      )) as StreamRevisionMismatchError;
      expect(error).toBeInstanceOf(StreamRevisionMismatchError);
      expect(error).toMatchObject({ plannedRevision: 0, actualRevision: 2 });
    });

    it('reads the head from the leader', async () => {
      await open();
      await store.append(uniqueStream(), [testEvent()]);
      const heads = server.calls.filter((call) => call.method === 'read');
      expect(heads.length).toBeGreaterThan(0);
      expect(heads.every((call) => call.requiresLeader)).toBe(true);
    });
  });

  describe('7. positions on stream reads', () => {
    it('uses them where the server gives them (22.6 on)', async () => {
      await open();
      const stream = uniqueStream();
      const id = randomUUID();
      const first = await store.append(stream, [testEvent('A', {}, id)]);
      const [event] = await store.readStream(stream);
      expect(first.position).toBeGreaterThan(0);
      expect(event!.position).toBe(first.position);
      // A retried append answers with the position too (found by reading the stream).
      expect(await store.append(stream, [testEvent('A', {}, id)])).toEqual(first);
    });

    it('keeps -1 for servers before 22.6', async () => {
      await open({ streamReadPositions: false });
      const stream = uniqueStream();
      const { position } = await store.append(stream, [testEvent()]);
      expect(position).toBeGreaterThan(0);
      expect((await store.readStream(stream))[0]!.position).toBe(-1);
      expect((await store.readAll(0, 1))[0]!.position).toBe(position);
    });
  });
});
