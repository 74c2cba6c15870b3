import { randomUUID } from 'node:crypto';
import type {
  Decider,
  DomainEvent,
  EventMetadata,
  EventStore,
  RecordedEvent,
} from '../event-sourcing';
import { StreamNotFoundError, UNSTAMPED_SCHEMA_VERSION, foldEvents } from '../event-sourcing';
import type { Principal } from './principal';

/** Who issues a command, and when: everything the edge adds to a domain command. */
export type CommandContext = {
  readonly principal: Principal;
  /** Ties together the events of one request (from `X-Correlation-Id`, or new). */
  readonly correlationId: string;
  /** The clock at the edge: the one place the domain's "now" comes from. */
  readonly now: Date;
};

/** A context for a request, with a fresh correlation id unless the client sent one. */
export function commandContext(
  principal: Principal,
  correlationId?: string,
  now = new Date(),
): CommandContext {
  return { principal, correlationId: correlationId ?? randomUUID(), now };
}

/**
 * The metadata every event of a command carries. The schema version differs by event type: the
 * store stamps each event's on append (`UpcastingEventStore`), so none is chosen here.
 */
export function eventMetadata(context: CommandContext): EventMetadata {
  return {
    actor: { sub: context.principal.sub, role: context.principal.role },
    correlationId: context.correlationId,
    causationId: null,
    schemaVersion: UNSTAMPED_SCHEMA_VERSION,
  };
}

/** A stream folded with a decider, with the revision it was read at (-1: no stream). */
export async function loadState<Event extends DomainEvent, State>(
  store: EventStore,
  streamName: string,
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
): Promise<{ state: State; revision: number; events: RecordedEvent[] }> {
  let events: RecordedEvent[];
  try {
    events = await store.readStream(streamName);
  } catch (error) {
    if (error instanceof StreamNotFoundError)
      return { state: decider.initialState(), revision: -1, events: [] };
    throw error;
  }
  return { state: foldEvents(decider, events), revision: events.length - 1, events };
}

/** What every command answers: the global position of its last event (null: nothing changed). */
export type Positioned = { readonly position: number | null };
