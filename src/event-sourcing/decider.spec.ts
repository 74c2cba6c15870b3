import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import { StreamCommandQueue } from './command-queue';
import { type Decider, handleCommand } from './decider';
import type { DomainEvent, EventMetadata } from './event';
import type { EventStore } from './event-store';

// A tiny counter with a ceiling, enough to exercise read-fold-decide-append and its retries.
type CounterEvent = DomainEvent<'Incremented', { by: number }>;
type CounterCommand = { type: 'Increment'; by: number } | { type: 'Touch' };
interface CounterState {
  readonly total: number;
}
class CeilingReached extends Error {}
const counter: Decider<CounterCommand, CounterEvent, CounterState> = {
  initialState: () => ({ total: 0 }),
  evolve: (state, event) => ({ total: state.total + event.data.by }),
  decide: (command, state) => {
    switch (command.type) {
      case 'Increment':
        if (state.total + command.by > 10)
          throw new CeilingReached(`total would be ${state.total + command.by}`);
        return [{ type: 'Incremented', data: { by: command.by } }];
      case 'Touch':
        return [];
    }
  },
};
const metadata: EventMetadata = {
  actor: { sub: 'tester', role: 'programme_admin' },
  correlationId: 'c-1',
  causationId: null,
  schemaVersion: 1,
};

describe('handleCommand', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'decider-'));
    store = new SqliteEventStore({ fileName: join(dir, 'events.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given no stream, when a command decides events, then it appends them with no_stream', async () => {
    const result = await handleCommand(
      store,
      'counter-1',
      counter,
      { type: 'Increment', by: 3 },
      { metadata },
    );
    expect(result).toMatchObject({
      state: { total: 3 },
      nextRevision: 0,
      events: [{ type: 'Incremented' }],
    });
    expect(result.position).toBe(1);
    expect((await store.readStream('counter-1'))[0]!.metadata).toEqual(metadata);
  });

  it('given events, when the decision depends on them, then it folds them first', async () => {
    await handleCommand(store, 'counter-1', counter, { type: 'Increment', by: 6 }, { metadata });
    await expect(
      handleCommand(store, 'counter-1', counter, { type: 'Increment', by: 5 }, { metadata }),
    ).rejects.toThrow(CeilingReached);
    expect(await store.readStream('counter-1')).toHaveLength(1);
  });

  it('when the decision is no events, then nothing is appended', async () => {
    const result = await handleCommand(
      store,
      'counter-1',
      counter,
      { type: 'Touch' },
      { metadata },
    );
    expect(result).toEqual({
      events: [],
      state: { total: 0 },
      nextRevision: -1,
      position: undefined,
    });
    expect(await store.readAll(0, 10)).toEqual([]);
  });

  it('when many commands race, then each re-reads and the invariant holds', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        handleCommand(
          store,
          'counter-1',
          counter,
          { type: 'Increment', by: 2 },
          { metadata, maxRetries: 10 },
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
    expect(
      outcomes.filter(
        (outcome) => outcome.status === 'rejected' && outcome.reason instanceof CeilingReached,
      ),
    ).toHaveLength(3);
    expect(await store.readStream('counter-1')).toHaveLength(5);
  });

  it('when a writer keeps winning, then it gives up with CONCURRENCY_CONFLICT after its retries', async () => {
    let reads = 0;
    const meddling: EventStore = Object.assign(Object.create(store) as EventStore, {
      readStream: async (...args: Parameters<EventStore['readStream']>) => {
        reads += 1;
        const events = await store.readStream(...args).catch(() => []);
        await store.append('counter-1', [{ type: 'Incremented', data: { by: 0 }, metadata }]);
        return events;
      },
    });
    await expect(
      handleCommand(
        meddling,
        'counter-1',
        counter,
        { type: 'Increment', by: 1 },
        { metadata, maxRetries: 2 },
      ),
    ).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      attempts: 3,
    });
    expect(reads).toBe(3);
  });

  it('with a queue, commands racing in one process take turns: none is retried, each sees the last', async () => {
    const queue = new StreamCommandQueue(5000);
    let retried = 0;
    queue.observe({ waited: () => undefined, timedOut: () => undefined, retried: () => retried++ });
    let reads = 0;
    const counting: EventStore = Object.assign(Object.create(store) as EventStore, {
      readStream: (...args: Parameters<EventStore['readStream']>) => {
        reads += 1;
        return store.readStream(...args);
      },
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        handleCommand(
          counting,
          'counter-1',
          counter,
          { type: 'Increment', by: 2 },
          { metadata, queue },
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
    expect(
      outcomes.filter(
        (outcome) => outcome.status === 'rejected' && outcome.reason instanceof CeilingReached,
      ),
    ).toHaveLength(3);
    // One read per command: no race was lost, so none decided twice.
    expect(reads).toBe(8);
    expect(retried).toBe(0);
  });

  it('when another writer keeps winning, then it retries until the deadline and gives up with CONCURRENCY_CONFLICT', async () => {
    const queue = new StreamCommandQueue(5000);
    let retried = 0;
    queue.observe({ waited: () => undefined, timedOut: () => undefined, retried: () => retried++ });
    const meddling: EventStore = Object.assign(Object.create(store) as EventStore, {
      readStream: async (...args: Parameters<EventStore['readStream']>) => {
        const events = await store.readStream(...args).catch(() => []);
        await store.append('counter-1', [{ type: 'Incremented', data: { by: 0 }, metadata }]);
        return events;
      },
    });
    const started = Date.now();
    await expect(
      handleCommand(
        meddling,
        'counter-1',
        counter,
        { type: 'Increment', by: 1 },
        { metadata, queue, retryForMs: 200 },
      ),
    ).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT' });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(100);
    expect(took).toBeLessThan(2000);
    expect(retried).toBeGreaterThan(2);
  });

  describe('with a queue, the state folded last time is reused', () => {
    const reading = () => {
      const reads: Array<number | undefined> = [];
      const spy: EventStore = Object.assign(Object.create(store) as EventStore, {
        readStream: (...args: Parameters<EventStore['readStream']>) => {
          reads.push(args[1]?.fromRevision);
          return store.readStream(...args);
        },
      });
      return { reads, spy };
    };
    const increment = (target: EventStore, queue: StreamCommandQueue, by = 1) =>
      handleCommand(target, 'counter-1', counter, { type: 'Increment', by }, { metadata, queue });

    it('reads only from the last event it folded, and decides as a full read would', async () => {
      const queue = new StreamCommandQueue(5000);
      const { reads, spy } = reading();
      await increment(spy, queue);
      await increment(spy, queue);
      const third = await increment(spy, queue, 3);
      // The first found no stream (nothing to remember), the second read it whole.
      expect(reads).toEqual([undefined, undefined, 0]);
      expect(third.state).toEqual({ total: 5 });
      expect(third.nextRevision).toBe(2);
      // The ceiling is judged on the whole stream: 5 + 6 > 10.
      await expect(increment(spy, queue, 6)).rejects.toBeInstanceOf(CeilingReached);
      expect(reads).toEqual([undefined, undefined, 0, 1]);
    });

    it('folds what another writer appended meanwhile', async () => {
      const queue = new StreamCommandQueue(5000);
      await increment(store, queue, 2);
      await store.append('counter-1', [{ type: 'Incremented', data: { by: 7 }, metadata }], {
        expectedRevision: 0,
      });
      await expect(increment(store, queue, 2)).rejects.toBeInstanceOf(CeilingReached);
      expect((await increment(store, queue, 1)).state).toEqual({ total: 10 });
    });

    it('reads the whole stream again when the remembered event is not where it was', async () => {
      const queue = new StreamCommandQueue(5000);
      await increment(store, queue, 2);
      await increment(store, queue, 2);
      // As if the log had been restored from another copy: same revision, another position.
      queue.remember('counter-1', {
        decider: counter,
        revision: 1,
        position: 999,
        state: { total: 0 },
      });
      const { reads, spy } = reading();
      const next = await increment(spy, queue, 1);
      expect(reads).toEqual([1, undefined]);
      expect(next.state).toEqual({ total: 5 });
    });

    it('forgets a state after stateTtlMs, and keeps at most maxStates streams', async () => {
      const queue = new StreamCommandQueue(5000, 1000, 0);
      await increment(store, queue);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(queue.recall('counter-1', counter)).toBeUndefined();
      const small = new StreamCommandQueue(5000, 1000, 30_000, 2);
      for (const name of ['a-1', 'b-1', 'c-1'])
        small.remember(name, { decider: counter, revision: 0, position: 1, state: {} });
      expect(small.recall('a-1', counter)).toBeUndefined();
      expect(small.recall('c-1', counter)).toBeDefined();
      // Another decider never gets a state it did not fold.
      expect(small.recall('c-1', {})).toBeUndefined();
    });
  });

  it('with event ids per request, then a retried request appends nothing twice', async () => {
    const eventIds = (index: number) => ['6f1c2a52-8f7e-4c1e-9a57-0d6c4b0a9e11'][index];
    const first = await handleCommand(
      store,
      'counter-1',
      counter,
      { type: 'Increment', by: 1 },
      { metadata, eventIds },
    );
    const retried = await handleCommand(
      store,
      'counter-1',
      counter,
      { type: 'Increment', by: 1 },
      { metadata, eventIds },
    );
    expect(retried.position).toBe(first.position);
    expect(retried.nextRevision).toBe(0);
    expect(await store.readStream('counter-1')).toHaveLength(1);
  });
});
