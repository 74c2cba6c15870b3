import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../stores/sqlite/sqlite-event-store';
import type { EventMetadata, JsonObject, NewEvent, RecordedEvent } from '../event';
import { verifyChains } from '../verify-chains';
import {
  EventSchemaRegistry,
  SchemaHistoryError,
  UNSTAMPED_SCHEMA_VERSION,
  UnknownSchemaVersionError,
  UnversionedEventTypeError,
  type EventSchema,
  type Upcaster,
} from './schema';
import { UpcastingEventStore, storedLog } from './upcasting-event-store';

const step = (
  fromVersion: number,
  upcast: (data: JsonObject, metadata: EventMetadata) => JsonObject,
  type = 'Measured',
): Upcaster => ({ type, fromVersion, toVersion: fromVersion + 1, upcast });

// A reading that was `{ cm }` (v1), then `{ mm }` (v2), then `{ mm, unit }` (v3).
const measured: EventSchema = {
  version: 3,
  upcasters: [
    step(2, (data) => ({ ...data, unit: 'mm' })),
    step(1, ({ cm, ...rest }) => ({ ...rest, mm: (cm as number) * 10 })),
  ],
};
const registry = () => new EventSchemaRegistry({ Measured: measured, Noted: { version: 1 } });

const metadata = (schemaVersion: number): EventMetadata => ({
  actor: { sub: 'tester', role: 'programme_admin' },
  correlationId: 'c-1',
  causationId: null,
  schemaVersion,
});

const recorded = (type: string, data: JsonObject, schemaVersion: number): RecordedEvent => ({
  type,
  data,
  metadata: metadata(schemaVersion),
  eventId: '0199aaaa-0000-7000-8000-000000000001',
  streamName: 'reading-1',
  revision: 4,
  position: 17,
  recordedAt: '2026-01-01T00:00:00.000Z',
  prevHash: null,
  hash: 'h',
});

describe('EventSchemaRegistry', () => {
  it('refuses at start-up a history with a gap, naming the type and the missing step', () => {
    expect(
      () =>
        new EventSchemaRegistry({
          Measured: { version: 3, upcasters: [step(2, (data) => data)] },
        }),
    ).toThrow(
      new SchemaHistoryError(
        'Measured',
        'no upcaster from version 1 to 2: events stored at version 1 could not be read as version 3',
      ),
    );
    expect(() => new EventSchemaRegistry({ Measured: { version: 2 } })).toThrow(
      'event type Measured: no upcaster from version 1 to 2',
    );
  });

  it.each<[string, EventSchema, string]>([
    [
      'a step that skips a version',
      { version: 3, upcasters: [{ ...step(1, (data) => data), toVersion: 3 }] },
      'the upcaster from version 1 goes to 3',
    ],
    [
      'an upcaster from the current version',
      { version: 1, upcasters: [step(1, (data) => data)] },
      'an upcaster from version 1 does not fit a history of versions 1 to 1',
    ],
    [
      'two upcasters from one version',
      { version: 2, upcasters: [step(1, (data) => data), step(1, (data) => data)] },
      'two upcasters from version 1',
    ],
    [
      "another type's upcaster",
      { version: 2, upcasters: [step(1, (data) => data, 'Noted')] },
      'an upcaster for Noted is declared here',
    ],
    ['version 0', { version: 0 }, 'version 0 is not 1, 2, …'],
  ])('refuses %s', (_name, schema, message) => {
    expect(() => new EventSchemaRegistry({ Measured: schema })).toThrow(message);
  });

  it('reads an old event in the current shape through every step, in order, with its metadata', () => {
    const seen: number[] = [];
    const watched = new EventSchemaRegistry({
      Measured: {
        version: 3,
        upcasters: measured.upcasters!.map((upcaster) => ({
          ...upcaster,
          upcast: (data: JsonObject, meta: EventMetadata) => {
            seen.push(meta.schemaVersion);
            return upcaster.upcast(data, meta);
          },
        })),
      },
    });
    const stored = recorded('Measured', { cm: 4, at: 'gate' }, 1);
    const read = watched.upcast(stored);
    expect(read.data).toEqual({ at: 'gate', mm: 40, unit: 'mm' });
    expect(read.metadata.schemaVersion).toBe(3);
    // The stored event's metadata (its version) is what each step is given.
    expect(seen).toEqual([1, 1]);
    // Everything else is the stored event's, and the stored event is not changed.
    expect({ ...read, data: stored.data, metadata: stored.metadata }).toEqual(stored);
    expect(stored).toEqual(recorded('Measured', { cm: 4, at: 'gate' }, 1));
    expect(registry().upcast(recorded('Measured', { mm: 7 }, 2)).data).toEqual({
      mm: 7,
      unit: 'mm',
    });
  });

  it('returns an event stored in the current shape as it is', () => {
    const current = recorded('Measured', { mm: 1, unit: 'mm' }, 3);
    expect(registry().upcast(current)).toBe(current);
  });

  it('refuses an event stored at a version newer than it knows, saying which and where', () => {
    expect(() => registry().upcast(recorded('Measured', { mm: 1 }, 4))).toThrow(
      new UnknownSchemaVersionError('Measured', 4, 3, 'reading-1 revision 4 (position 17)'),
    );
    expect(() => registry().upcast(recorded('Measured', { mm: 1 }, 4))).toThrow(
      'reading-1 revision 4 (position 17): Measured is stored at schema version 4, but this release knows versions up to 3; it was written by a later release',
    );
  });

  it('refuses a stored version that is no version (an event that bypassed the stamping)', () => {
    expect(() =>
      registry().upcast(recorded('Measured', { mm: 1 }, UNSTAMPED_SCHEMA_VERSION)),
    ).toThrow('Measured has schema version 0, which is not a version');
  });

  it('passes events of types it does not declare as they are stored', () => {
    const other = recorded('SomethingElse', { a: 1 }, 9);
    expect(registry().upcast(other)).toBe(other);
  });

  it('stamps what is written with its type’s current version, and refuses an undeclared type', () => {
    const event: NewEvent = {
      type: 'Measured',
      data: { mm: 1, unit: 'mm' },
      metadata: metadata(0),
    };
    expect(registry().stamp(event).metadata.schemaVersion).toBe(3);
    expect(registry().stamp({ ...event, type: 'Noted' }).metadata.schemaVersion).toBe(1);
    expect(() => registry().stamp({ ...event, type: 'Unknown' })).toThrow(
      UnversionedEventTypeError,
    );
  });
});

describe('UpcastingEventStore', () => {
  let dir: string;
  let adapter: SqliteEventStore;
  let store: UpcastingEventStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upcasting-'));
    adapter = new SqliteEventStore({ fileName: join(dir, 'events.sqlite') });
    store = new UpcastingEventStore(adapter, registry());
    // Written by an older release: version 1 and 2 shapes, through the bare adapter.
    await adapter.append('reading-1', [
      { type: 'Measured', data: { cm: 4 }, metadata: metadata(1) },
      { type: 'Measured', data: { mm: 5 }, metadata: metadata(2) },
    ]);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads every event in its current shape (streams, the log, subscriptions), and stamps what it writes', async () => {
    await store.append('reading-1', [
      { type: 'Measured', data: { mm: 6, unit: 'mm' }, metadata: metadata(0) },
    ]);
    const current = [
      { mm: 40, unit: 'mm' },
      { mm: 5, unit: 'mm' },
      { mm: 6, unit: 'mm' },
    ];
    expect((await store.readStream('reading-1')).map((event) => event.data)).toEqual(current);
    expect((await store.readAll(0, 10)).map((event) => event.metadata.schemaVersion)).toEqual([
      3, 3, 3,
    ]);
    const subscription = store.subscribeToAll(0);
    const seen: JsonObject[] = [];
    for await (const event of subscription) {
      seen.push(event.data);
      if (seen.length === 3) break;
    }
    await subscription.close();
    expect(seen).toEqual(current);
  });

  it('keeps the stored form for what checks hashes: unchanged, and its chains verify', async () => {
    await store.append('reading-1', [
      { type: 'Measured', data: { mm: 6, unit: 'mm' }, metadata: metadata(0) },
    ]);
    const stored = await store.stored.readStream('reading-1');
    expect(stored.map((event) => [event.data, event.metadata.schemaVersion])).toEqual([
      [{ cm: 4 }, 1],
      [{ mm: 5 }, 2],
      [{ mm: 6, unit: 'mm' }, 3],
    ]);
    expect((await verifyChains(store.stored)).problems).toEqual([]);
    // Read upcast, the old events no longer match their hashes: why verification reads `stored`.
    const upcast = { form: 'stored' as const, ...pick(store) };
    expect((await verifyChains(upcast)).problems.map((problem) => problem.revision)).toEqual([
      0, 1,
    ]);
  });

  it('will not take an upcasting store as a stored log', () => {
    expect(() => storedLog(store)).toThrow('use its `stored` log');
  });
});

function pick(store: UpcastingEventStore) {
  return {
    readStream: store.readStream.bind(store),
    readAll: store.readAll.bind(store),
    headPosition: store.headPosition.bind(store),
  };
}
