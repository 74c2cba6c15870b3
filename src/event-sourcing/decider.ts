import type { DomainEvent, EventMetadata, RecordedEvent } from './event';
import type { AppendResult, EventStore, ExpectedRevision } from './event-store';
import {
  ConcurrencyConflictError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
} from './errors';

/**
 * A consistency boundary as three pure functions: what state looks like before any event,
 * how an event changes it, and which events a command produces from it. No I/O and no clock:
 * time and ids arrive inside the command.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  /** State of a stream with no events. */
  readonly initialState: () => State;
  /** Applies one event to the state; must be total over `Event`. */
  readonly evolve: (state: State, event: Event) => State;
  /** The events `command` produces in `state`; throws a domain error to reject it. */
  readonly decide: (command: Command, state: State) => readonly Event[];
}

/** Options for `handleCommand`. */
export interface HandleCommandOptions {
  /** Metadata stamped on every produced event. */
  readonly metadata: EventMetadata;
  /** How many times to re-read and re-decide after losing a concurrency race; default 3. */
  readonly maxRetries?: number;
  /** Ids for the produced events, by index, making a retried request idempotent. */
  readonly eventIds?: (index: number, event: DomainEvent) => string | undefined;
}

/** What `handleCommand` reports. */
export interface HandleCommandResult<Event, State> {
  /** The events the command produced (empty when it changed nothing). */
  readonly events: readonly Event[];
  /** State after the new events. */
  readonly state: State;
  /** Revision of the stream's last event; -1 when the stream still does not exist. */
  readonly nextRevision: number;
  /** Global position of the last appended event, or undefined when nothing was appended. */
  readonly position: number | undefined;
}

/** Folds a stream's recorded events into state with a decider. */
export function foldEvents<Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  events: readonly RecordedEvent[],
): State {
  let state = decider.initialState();
  // Events are the storage schema: what was appended under a type is that type's data.
  for (const event of events) state = decider.evolve(state, event as unknown as Event);
  return state;
}

/**
 * Read, fold, decide, append with the revision that was read. When another writer got there
 * first, start again from a fresh read, up to `maxRetries` times, then raise
 * `ConcurrencyConflictError`. Domain errors thrown by `decide` propagate unchanged.
 */
export async function handleCommand<Command, Event extends DomainEvent, State>(
  store: EventStore,
  streamName: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  options: HandleCommandOptions,
): Promise<HandleCommandResult<Event, State>> {
  const maxRetries = options.maxRetries ?? 3;
  for (let attempt = 1; ; attempt += 1) {
    const recorded = await readStreamOrEmpty(store, streamName);
    const current = foldEvents(decider, recorded);
    const revision = recorded.length > 0 ? recorded[recorded.length - 1]!.revision : -1;
    const events = decider.decide(command, current);
    if (events.length === 0) {
      return { events, state: current, nextRevision: revision, position: undefined };
    }
    const expectedRevision: ExpectedRevision = revision === -1 ? 'no_stream' : revision;
    let result: AppendResult;
    try {
      result = await store.append(
        streamName,
        events.map((event, index) => ({
          type: event.type,
          data: event.data,
          metadata: options.metadata,
          eventId: options.eventIds?.(index, event),
        })),
        { expectedRevision },
      );
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError && attempt <= maxRetries) continue;
      if (error instanceof WrongExpectedRevisionError)
        throw new ConcurrencyConflictError(streamName, attempt);
      throw error;
    }
    const state = events.reduce(decider.evolve, current);
    return { events, state, nextRevision: result.nextRevision, position: result.position };
  }
}

async function readStreamOrEmpty(store: EventStore, streamName: string): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(streamName);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}
