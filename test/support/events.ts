import { randomUUID } from 'node:crypto';
import type { JsonObject, NewEvent } from '../../src/event-sourcing';

/** A well-formed event for tests. */
export function testEvent(
  type = 'SomethingHappened',
  data: JsonObject = { n: 1 },
  eventId?: string,
): NewEvent {
  return {
    type,
    data,
    metadata: {
      actor: { sub: 'tester', role: 'programme_admin' },
      correlationId: randomUUID(),
      causationId: null,
      schemaVersion: 1,
    },
    ...(eventId ? { eventId } : {}),
  };
}

/** A stream name no other test uses. */
export function uniqueStream(category = 'test'): string {
  return `${category}-${randomUUID()}`;
}
