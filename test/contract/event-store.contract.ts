import { randomUUID } from 'node:crypto';
import {
  type EventStore,
  type EventStoreError,
  type RecordedEvent,
  MAX_EVENT_BYTES,
  computeEventHash,
} from '../../src/event-sourcing';
import { testEvent, uniqueStream } from '../support/events';

/** One adapter under test: a store over empty storage, and more stores over the same storage. */
export interface ContractSubject {
  /** A store over fresh, empty storage. */
  readonly store: EventStore;
  /** Another store (own connection, as another process would have) over the same storage. */
  readonly openAnother: () => Promise<EventStore>;
  /** Closes everything and removes the storage. */
  readonly dispose: () => Promise<void>;
  /**
   * Writes `count` records of the store's own into the global log (EventStoreDB: `$`-typed
   * events, events in `$` streams), which reads must pass over. Only stores that have them.
   */
  readonly writeSystemEvents?: (count: number) => Promise<void>;
}

/** What differs between adapters, stated rather than hidden. */
export interface ContractFeatures {
  /** Positions are gap-free (1, 2, 3, ...), not only increasing. */
  readonly gapFreePositions: boolean;
  /** Events read from a single stream carry their global position. */
  readonly streamReadsKnowPositions: boolean;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<EventStoreError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught as EventStoreError,
  );
  expect(error).toBeDefined();
  expect(error!.code).toBe(code);
  return error!;
}

// Only events of `streams` count, so the suite also runs against a store that others use.
async function collect(
  subscription: AsyncIterable<RecordedEvent>,
  count: number,
  streams?: ReadonlySet<string>,
  timeoutMs = 10_000,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  const iterator = subscription[Symbol.asyncIterator]();
  while (events.length < count) {
    const next = await withTimeout(iterator.next(), deadline - Date.now());
    if (next === 'timeout')
      throw new Error(
        `subscription delivered ${events.length} of ${count} events in ${timeoutMs} ms`,
      );
    if (next.done) break;
    if (!streams || streams.has(next.value.streamName)) events.push(next.value);
  }
  return events;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(ms, 0));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function allEvents(
  store: EventStore,
  streams?: ReadonlySet<string>,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await store.readAll(after, 1000);
    if (page.length === 0) return events;
    events.push(...page.filter((event) => !streams || streams.has(event.streamName)));
    after = page[page.length - 1]!.position;
  }
}

/** The event-store contract: every adapter must pass all of it. */
export function describeEventStoreContract(
  name: string,
  open: () => Promise<ContractSubject>,
  features: ContractFeatures,
): void {
  describe(`EventStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: EventStore;

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    describe('appending and reading a stream', () => {
      it('records the envelope the store assigns', async () => {
        const stream = uniqueStream();
        const event = testEvent('ApplicationSubmitted', { fullName: 'Li Wei' });
        const before = Date.now();
        const result = await store.append(stream, [event], { expectedRevision: 'no_stream' });
        expect(result.nextRevision).toBe(0);
        const [recorded] = await store.readStream(stream);
        expect(recorded).toMatchObject({
          streamName: stream,
          revision: 0,
          type: 'ApplicationSubmitted',
          data: { fullName: 'Li Wei' },
          metadata: event.metadata,
          prevHash: null,
        });
        expect(recorded!.eventId).toMatch(/^[0-9a-f-]{36}$/);
        expect(recorded!.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(Date.parse(recorded!.recordedAt)).toBeGreaterThanOrEqual(before - 1000);
        if (features.streamReadsKnowPositions) expect(recorded!.position).toBe(result.position);
      });

      it('keeps a caller-supplied event id', async () => {
        const stream = uniqueStream();
        const eventId = randomUUID();
        await store.append(stream, [testEvent('A', {}, eventId)]);
        expect((await store.readStream(stream))[0]!.eventId).toBe(eventId);
      });

      it('reads forwards, backwards, from a revision and up to a count', async () => {
        const stream = uniqueStream();
        await store.append(
          stream,
          [0, 1, 2, 3, 4].map((n) => testEvent('Counted', { n })),
        );
        const revisions = (events: RecordedEvent[]) => events.map((event) => event.revision);
        expect(revisions(await store.readStream(stream))).toEqual([0, 1, 2, 3, 4]);
        expect((await store.readStream(stream)).map((event) => event.data.n)).toEqual([
          0, 1, 2, 3, 4,
        ]);
        expect(revisions(await store.readStream(stream, { direction: 'backwards' }))).toEqual([
          4, 3, 2, 1, 0,
        ]);
        expect(revisions(await store.readStream(stream, { fromRevision: 2, maxCount: 2 }))).toEqual(
          [2, 3],
        );
        expect(
          revisions(
            await store.readStream(stream, {
              direction: 'backwards',
              fromRevision: 3,
              maxCount: 2,
            }),
          ),
        ).toEqual([3, 2]);
        expect(
          revisions(await store.readStream(stream, { direction: 'backwards', maxCount: 1 })),
        ).toEqual([4]);
        expect(await store.readStream(stream, { fromRevision: 5 })).toEqual([]);
      });

      // What a timeline page relies on (timeline-page.ts): a stretch of a stream read by
      // revision is each event as the global log gave it to the projections.
      it('reads a stretch of a stream by revision as the global log gives its events', async () => {
        const stream = uniqueStream();
        const other = uniqueStream();
        for (const n of [0, 1, 2, 3, 4]) {
          await store.append(stream, [testEvent('Counted', { n })]);
          await store.append(other, [testEvent('Other', { n })]);
        }
        const fromLog: RecordedEvent[] = [];
        let after = 0;
        for (;;) {
          const batch = await store.readAll(after, 500);
          if (batch.length === 0) break;
          fromLog.push(...batch.filter((event) => event.streamName === stream));
          after = batch[batch.length - 1]!.position;
        }
        const stretch = await store.readStream(stream, { fromRevision: 1, maxCount: 3 });
        expect(stretch.map((event) => event.revision)).toEqual([1, 2, 3]);
        stretch.forEach((event, i) => {
          const logged = fromLog[i + 1]!;
          expect(features.streamReadsKnowPositions ? event : { ...event, position: 0 }).toEqual(
            features.streamReadsKnowPositions ? logged : { ...logged, position: 0 },
          );
        });
      });

      it('raises STREAM_NOT_FOUND for a stream with no events', async () => {
        const error = await expectCode(store.readStream(uniqueStream()), 'STREAM_NOT_FOUND');
        expect(error.message).toContain('does not exist');
      });
    });

    describe('expected revision', () => {
      it('no_stream: succeeds on a new stream, fails once it exists', async () => {
        const stream = uniqueStream();
        await store.append(stream, [testEvent()], { expectedRevision: 'no_stream' });
        const error = await expectCode(
          store.append(stream, [testEvent()], { expectedRevision: 'no_stream' }),
          'WRONG_EXPECTED_REVISION',
        );
        expect(error).toMatchObject({ streamName: stream, expected: 'no_stream', actual: 0 });
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('stream_exists: fails on a new stream, succeeds once it exists', async () => {
        const stream = uniqueStream();
        const error = await expectCode(
          store.append(stream, [testEvent()], { expectedRevision: 'stream_exists' }),
          'WRONG_EXPECTED_REVISION',
        );
        expect(error).toMatchObject({ actual: 'no_stream' });
        await expectCode(store.readStream(stream), 'STREAM_NOT_FOUND');
        await store.append(stream, [testEvent()]);
        const result = await store.append(stream, [testEvent()], {
          expectedRevision: 'stream_exists',
        });
        expect(result.nextRevision).toBe(1);
      });

      it('a revision: succeeds at the current one, fails when stale or ahead', async () => {
        const stream = uniqueStream();
        await store.append(stream, [testEvent(), testEvent()], { expectedRevision: 'no_stream' });
        expect(
          (await store.append(stream, [testEvent()], { expectedRevision: 1 })).nextRevision,
        ).toBe(2);
        expect(
          await expectCode(
            store.append(stream, [testEvent()], { expectedRevision: 1 }),
            'WRONG_EXPECTED_REVISION',
          ),
        ).toMatchObject({ expected: 1, actual: 2 });
        await expectCode(
          store.append(stream, [testEvent()], { expectedRevision: 7 }),
          'WRONG_EXPECTED_REVISION',
        );
        await expectCode(
          store.append(uniqueStream(), [testEvent()], { expectedRevision: 0 }),
          'WRONG_EXPECTED_REVISION',
        );
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('any: appends whatever the stream holds', async () => {
        const stream = uniqueStream();
        expect(
          (await store.append(stream, [testEvent()], { expectedRevision: 'any' })).nextRevision,
        ).toBe(0);
        expect((await store.append(stream, [testEvent()])).nextRevision).toBe(1);
      });

      it('lets exactly one of many concurrent appends at one revision win, with nothing partial', async () => {
        const stream = uniqueStream();
        await store.append(stream, [testEvent()]);
        const other = await subject.openAnother();
        const attempts = Array.from({ length: 20 }, (_, writer) =>
          (writer % 2 === 0 ? store : other).append(
            stream,
            [testEvent('Claimed', { writer, part: 1 }), testEvent('Claimed', { writer, part: 2 })],
            { expectedRevision: 0 },
          ),
        );
        const outcomes = await Promise.allSettled(attempts);
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.filter(
          (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected',
        );
        expect(won).toHaveLength(1);
        expect(lost.map((outcome) => (outcome.reason as EventStoreError).code)).toEqual(
          Array(19).fill('WRONG_EXPECTED_REVISION'),
        );
        const events = await store.readStream(stream);
        expect(events).toHaveLength(3);
        expect(events[1]!.data.writer).toBe(events[2]!.data.writer);
        expect([events[1]!.data.part, events[2]!.data.part]).toEqual([1, 2]);
        await other.close();
      });
    });

    describe('global log', () => {
      it('orders every event by a strictly increasing position, in append order', async () => {
        const streams = [uniqueStream(), uniqueStream(), uniqueStream()];
        for (let i = 0; i < 12; i += 1)
          await store.append(streams[i % 3]!, [testEvent('Step', { i })]);
        await store.append(streams[0]!, [
          testEvent('Step', { i: 12 }),
          testEvent('Step', { i: 13 }),
        ]);
        const events = await allEvents(store, new Set(streams));
        expect(events.map((event) => event.data.i)).toEqual(
          Array.from({ length: 14 }, (_, i) => i),
        );
        for (let i = 1; i < events.length; i += 1)
          expect(events[i]!.position).toBeGreaterThan(events[i - 1]!.position);
        if (features.gapFreePositions)
          expect(events.map((event) => event.position)).toEqual(
            Array.from({ length: 14 }, (_, i) => i + 1),
          );
      });

      it('pages by position without gaps or repeats, also under concurrent appends', async () => {
        const other = await subject.openAnother();
        const streams = Array.from({ length: 60 }, () => uniqueStream());
        await Promise.all(
          streams.map((stream, i) =>
            (i % 2 ? store : other).append(stream, [testEvent('Paged', { i })]),
          ),
        );
        const ours = new Set(streams);
        const pages: RecordedEvent[] = [];
        let after = 0;
        for (;;) {
          const page = await store.readAll(after, 7);
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(7);
          pages.push(...page.filter((event) => ours.has(event.streamName)));
          after = page[page.length - 1]!.position;
        }
        expect(pages).toHaveLength(60);
        expect(new Set(pages.map((event) => event.data.i)).size).toBe(60);
        await other.close();
      });

      it('pages past system records between ours, at every page size, without gaps or repeats', async () => {
        const writeSystemEvents = subject.writeSystemEvents;
        if (!writeSystemEvents) return;
        const stream = uniqueStream();
        const head = await store.headPosition();
        await writeSystemEvents(2);
        for (let i = 0; i < 10; i += 1) {
          await store.append(stream, [testEvent('Paged', { i })]);
          await writeSystemEvents(i % 4);
        }
        for (const size of [1, 2, 3, 5]) {
          const seen: RecordedEvent[] = [];
          let after = head;
          for (;;) {
            const page = await store.readAll(after, size);
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(size);
            for (const event of page) expect(event.type.startsWith('$')).toBe(false);
            seen.push(...page.filter((event) => event.streamName === stream));
            after = page[page.length - 1]!.position;
          }
          expect(seen.map((event) => event.data.i)).toEqual(
            Array.from({ length: 10 }, (_, i) => i),
          );
          // The head is our last event, not a system record after it.
          expect(await store.headPosition()).toBe(seen[seen.length - 1]!.position);
        }
      });

      it('reports the head position: 0 when empty, then the last appended event', async () => {
        if (features.gapFreePositions) expect(await store.headPosition()).toBe(0);
        const { position } = await store.append(uniqueStream(), [testEvent('Head')]);
        expect(await store.headPosition()).toBe(position);
      });

      it('reports the position of the last appended event', async () => {
        const stream = uniqueStream();
        const result = await store.append(stream, [testEvent('One'), testEvent('Two')]);
        const events = await allEvents(store, new Set([stream]));
        expect(events[events.length - 1]!.type).toBe('Two');
        expect(events[events.length - 1]!.position).toBe(result.position);
      });
    });

    describe('idempotency', () => {
      it('treats a re-append of the same event ids as done: same answer, nothing written', async () => {
        const stream = uniqueStream();
        const ids = [randomUUID(), randomUUID()];
        const events = [testEvent('A', {}, ids[0]), testEvent('B', {}, ids[1])];
        const first = await store.append(stream, events, { expectedRevision: 'no_stream' });
        const again = await store.append(stream, events, { expectedRevision: 'no_stream' });
        expect(again).toEqual(first);
        const anyAgain = await store.append(stream, events);
        expect(anyAgain).toEqual(first);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('refuses an id that already names another event: DUPLICATE_EVENT_ID', async () => {
        const stream = uniqueStream();
        const id = randomUUID();
        await store.append(stream, [testEvent('A', {}, id)]);
        await expectCode(
          store.append(stream, [testEvent('B', {}, randomUUID()), testEvent('A', {}, id)]),
          'DUPLICATE_EVENT_ID',
        );
        expect(await store.readStream(stream)).toHaveLength(1);
      });
    });

    describe('subscriptions', () => {
      it('catches up, then stays live while another writer appends, without gaps or repeats', async () => {
        const stream = uniqueStream();
        for (let i = 0; i < 25; i += 1) await store.append(stream, [testEvent('Tick', { i })]);
        const writer = await subject.openAnother();
        const subscription = store.subscribeToAll(0);
        const received = collect(subscription, 75, new Set([stream]));
        for (let i = 25; i < 75; i += 5) {
          await writer.append(
            stream,
            [0, 1, 2, 3, 4].map((k) => testEvent('Tick', { i: i + k })),
          );
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const events = await received;
        await subscription.close();
        expect(events.map((event) => event.data.i)).toEqual(
          Array.from({ length: 75 }, (_, i) => i),
        );
        for (let i = 1; i < events.length; i += 1)
          expect(events[i]!.position).toBeGreaterThan(events[i - 1]!.position);
        await writer.close();
      });

      it('starts after the given position', async () => {
        const stream = uniqueStream();
        await store.append(stream, [testEvent('Old')]);
        const { position } = await store.append(stream, [testEvent('Seen')]);
        await store.append(stream, [testEvent('New')]);
        const subscription = store.subscribeToAll(position);
        const [first] = await collect(subscription, 1, new Set([stream]));
        await subscription.close();
        expect(first!.type).toBe('New');
      });

      it('ends iteration when closed, delivering nothing more', async () => {
        const stream = uniqueStream();
        // From the head before this test's append: on a shared log, position 0 would first
        // deliver the events of earlier tests.
        const head = await store.headPosition();
        await store.append(stream, [testEvent('Before')]);
        const subscription = store.subscribeToAll(head);
        const iterator = subscription[Symbol.asyncIterator]();
        expect((await iterator.next()).value.type).toBe('Before');
        const pending = iterator.next();
        await subscription.close();
        await store.append(stream, [testEvent('After')]);
        const result = await withTimeout(pending, 3000);
        expect(result).toEqual({ done: true, value: undefined });
      });
    });

    describe('hash chain', () => {
      it('chains each event to the one before it in its stream, across appends', async () => {
        const stream = uniqueStream();
        await store.append(stream, [testEvent('A'), testEvent('B')]);
        await store.append(uniqueStream(), [testEvent('Elsewhere')]);
        await store.append(stream, [testEvent('C')]);
        const events = await store.readStream(stream);
        expect(events[0]!.prevHash).toBeNull();
        for (let i = 1; i < events.length; i += 1)
          expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
        for (const event of events) expect(computeEventHash(event)).toBe(event.hash);
        expect(new Set(events.map((event) => event.hash)).size).toBe(3);
      });
    });

    describe('copying a log (recordedAt given, for the encrypt-log migration only)', () => {
      it('keeps each given recordedAt exactly, hashes it, and stamps the others itself', async () => {
        const stream = uniqueStream();
        const copied = (type: string, recordedAt: string) => ({
          ...testEvent(type),
          recordedAt,
        });
        const before = Date.now();
        await store.append(
          stream,
          [copied('A', '2024-03-01T08:00:00.000Z'), copied('B', '2024-03-01T08:00:00.123Z')],
          { expectedRevision: 'no_stream' },
        );
        await store.append(stream, [testEvent('C')], { expectedRevision: 1 });
        const events = await store.readStream(stream);
        expect(events.map((event) => event.recordedAt).slice(0, 2)).toEqual([
          '2024-03-01T08:00:00.000Z',
          '2024-03-01T08:00:00.123Z',
        ]);
        expect(Date.parse(events[2]!.recordedAt)).toBeGreaterThanOrEqual(before - 1000);
        for (const event of events) expect(computeEventHash(event)).toBe(event.hash);
        const all = await allEvents(store);
        expect(all.find((event) => event.eventId === events[1]!.eventId)?.recordedAt).toBe(
          '2024-03-01T08:00:00.123Z',
        );
      });

      it.each(['2024-03-01', '2024-03-01T08:00:00Z', '2024-03-01T10:00:00.000+02:00', 'yesterday'])(
        'refuses recordedAt %j (one spelling only: the text is hashed) with INVALID_EVENT',
        async (recordedAt) => {
          await expectCode(
            store.append(uniqueStream(), [{ ...testEvent(), recordedAt }]),
            'INVALID_EVENT',
          );
        },
      );
    });

    describe('stream heads (for verification)', () => {
      it('records each stream head with its last append, listed in name order and paged', async () => {
        if (!features.gapFreePositions) {
          expect(store.integrity).toBeUndefined();
          return;
        }
        const integrity = store.integrity!;
        expect(integrity.gapFreePositions).toBe(true);
        await store.append('heads-b', [testEvent('A'), testEvent('B')]);
        await store.append('heads-a', [testEvent('C')]);
        await store.append('heads-b', [testEvent('D')]);
        const b = await store.readStream('heads-b');
        const a = await store.readStream('heads-a');
        expect(await integrity.readStreamHeads('', 10)).toEqual([
          { streamName: 'heads-a', revision: 0, hash: a[0]!.hash },
          { streamName: 'heads-b', revision: 2, hash: b[2]!.hash },
        ]);
        expect(await integrity.readStreamHeads('heads-a', 10)).toEqual([
          { streamName: 'heads-b', revision: 2, hash: b[2]!.hash },
        ]);
        // A rejected append moves no head.
        await expect(
          store.append('heads-a', [testEvent('E')], { expectedRevision: 5 }),
        ).rejects.toThrow();
        expect((await integrity.readStreamHeads('', 1))[0]!.revision).toBe(0);
      });
    });

    describe('payloads', () => {
      it('keeps unicode exactly', async () => {
        const stream = uniqueStream();
        const data = {
          fullName: '李伟',
          institution: '中国科学院 — 宁波材料技术与工程研究所',
          note: 'emoji 🧲🔬, combining é, RTL مرحبا, NUL \u0000 and line\u2028separator',
          键: ['稀土', 'Ω', '\ud83d\ude00'],
        };
        await store.append(stream, [testEvent('Unicode', data)]);
        const [event] = await store.readStream(stream);
        expect(event!.data).toEqual(data);
        expect(computeEventHash(event!)).toBe(event!.hash);
      });

      it('stores a 1 MB payload and refuses one over the limit with EVENT_TOO_LARGE', async () => {
        const stream = uniqueStream();
        const big = { blob: 'x'.repeat(1024 * 1024) };
        await store.append(stream, [testEvent('Big', big)]);
        expect((await store.readStream(stream))[0]!.data.blob).toHaveLength(1024 * 1024);
        const error = await expectCode(
          store.append(stream, [testEvent('Huge', { blob: 'y'.repeat(MAX_EVENT_BYTES) })]),
          'EVENT_TOO_LARGE',
        );
        expect(error.message).toContain(`limit is ${MAX_EVENT_BYTES} bytes`);
        expect(await store.readStream(stream)).toHaveLength(1);
      });
    });

    describe('typed errors, and a rejected append writes nothing', () => {
      it.each([
        ['', 'INVALID_STREAM_NAME'],
        ['$all', 'INVALID_STREAM_NAME'],
        ['has space', 'INVALID_STREAM_NAME'],
        ['x'.repeat(201), 'INVALID_STREAM_NAME'],
      ])('stream name %j: %s', async (stream, code) => {
        await expectCode(store.append(stream, [testEvent()]), code);
        await expectCode(store.readStream(stream), code);
      });

      it('EMPTY_APPEND for no events', async () => {
        await expectCode(store.append(uniqueStream(), []), 'EMPTY_APPEND');
      });

      it('INVALID_EVENT for an id that is not a UUID, a repeated id, or a bad expected revision', async () => {
        await expectCode(
          store.append(uniqueStream(), [testEvent('A', {}, 'not-a-uuid')]),
          'INVALID_EVENT',
        );
        const id = randomUUID();
        await expectCode(
          store.append(uniqueStream(), [testEvent('A', {}, id), testEvent('B', {}, id)]),
          'INVALID_EVENT',
        );
        await expectCode(
          store.append(uniqueStream(), [testEvent()], { expectedRevision: -1 }),
          'INVALID_EVENT',
        );
      });

      it('leaves the log unchanged after every rejected append', async () => {
        const stream = uniqueStream();
        await store.append(stream, [testEvent()]);
        const before = await allEvents(store);
        await Promise.allSettled([
          store.append(stream, [testEvent()], { expectedRevision: 'no_stream' }),
          store.append(stream, [testEvent()], { expectedRevision: 5 }),
          store.append(stream, [testEvent('Huge', { blob: 'z'.repeat(MAX_EVENT_BYTES) })]),
          store.append('bad name', [testEvent()]),
          store.append(stream, []),
        ]);
        expect(await allEvents(store)).toEqual(before);
      });
    });
  });
}
