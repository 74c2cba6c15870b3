import type { DomainEvent, EventMetadata, RecordedEvent } from './event';
import type { AppendResult, EventStore, ExpectedRevision } from './event-store';
import { retryBackoffMs, type StreamCommandQueue } from './command-queue';
import {
  ConcurrencyConflictError,
  StaleRevisionError,
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
export interface HandleCommandOptions<State = unknown> {
  /** Metadata stamped on every produced event. */
  readonly metadata: EventMetadata;
  /**
   * Most times to re-read and re-decide after losing a race with another writer; by default
   * as many as the deadline allows.
   */
  readonly maxRetries?: number;
  /**
   * How long lost races are retried (jittered exponential back-off), in milliseconds from the
   * start; default the queue's timeout, else 5000. Past it, `ConcurrencyConflictError`.
   */
  readonly retryForMs?: number;
  /**
   * Serialises this process's commands per stream (the service's): a command waits for the
   * previous one on its stream and is decided on the state that one left.
   */
  readonly queue?: StreamCommandQueue;
  /** Ids for the produced events, by index, making a retried request idempotent. */
  readonly eventIds?: (index: number, event: DomainEvent) => string | undefined;
  /**
   * The revision the caller decided on (HTTP `If-Match`). A stream at any other revision is a
   * `StaleRevisionError` before anything is decided, and a lost race is not retried: the
   * caller chose what it read, so a concurrent change is its to resolve.
   */
  readonly expectedRevision?: number;
  /**
   * Whether the caller may act on this stream, judged on the state just read (on every
   * attempt): throws a domain error to refuse, e.g. a not-found that hides another society's
   * participant. It runs before `decide`, so the stream is read once for both.
   */
  readonly authorize?: (state: State) => void;
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
  /** The state to fold onto; the decider's initial state by default. */
  from?: State,
): State {
  let state = from ?? decider.initialState();
  // Events are the storage schema, read in their current shape: the service's store upcasts
  // older versions (UpcastingEventStore), so what is read under a type is that type's data.
  for (const event of events) state = decider.evolve(state, event as unknown as Event);
  return state;
}

/**
 * Read, fold, decide, append with the revision that was read. With a queue, commands of this
 * process on one stream take turns, so they never race each other. When another writer (another
 * process) got there first, start again from a fresh read after a jittered back-off, until the
 * deadline (or `maxRetries`), then raise `ConcurrencyConflictError`. With `expectedRevision`
 * (If-Match) a lost race is the caller's: `StaleRevisionError` at once. Domain errors thrown by
 * `decide` propagate unchanged.
 */
export function handleCommand<Command, Event extends DomainEvent, State>(
  store: EventStore,
  streamName: string,
  decider: Decider<Command, Event, State>,
  /** The command, or how to build it from the state read (e.g. "today" in the stream's zone). */
  command: Command | ((state: State) => Command),
  options: HandleCommandOptions<State>,
): Promise<HandleCommandResult<Event, State>> {
  const { queue } = options;
  if (queue) return queue.run(streamName, (deadline) => decideAndAppend(deadline));
  return decideAndAppend(Date.now() + (options.retryForMs ?? 5000));

  /**
   * The stream's state and revision. With a queue, the state this process folded last time is
   * reused and only the events after it are read and folded: the queue gives this command the
   * stream's turn, so no other command of this process changes it meanwhile, and events another
   * process appended are among those read. The remembered event must still be in the log where
   * it was (same revision, same position), else the whole stream is read again.
   */
  async function readState(): Promise<{ current: State; revision: number }> {
    const known = queue?.recall<State>(streamName, decider);
    let recorded: RecordedEvent[];
    let state: State;
    if (known) {
      recorded = await readStreamOrEmpty(store, streamName, known.revision);
      const first = recorded[0];
      if (first && first.revision === known.revision && first.position === known.position) {
        state = foldEvents(decider, recorded.slice(1), known.state);
      } else {
        queue?.forget(streamName);
        recorded = await readStreamOrEmpty(store, streamName);
        state = foldEvents(decider, recorded);
      }
    } else {
      recorded = await readStreamOrEmpty(store, streamName);
      state = foldEvents(decider, recorded);
    }
    const last = recorded[recorded.length - 1];
    const revision = last ? last.revision : (known?.revision ?? -1);
    // Only what was folded from the log is remembered; the state after this command's own
    // events is not (the log holds them sealed and stamped, which the next read folds).
    if (queue && last)
      queue.remember(streamName, { decider, revision, position: last.position, state });
    return { current: state, revision };
  }

  async function decideAndAppend(queueDeadline: number) {
    const deadline =
      options.retryForMs === undefined ? queueDeadline : Date.now() + options.retryForMs;
    const maxRetries =
      options.expectedRevision === undefined ? (options.maxRetries ?? Infinity) : 0;
    for (let attempt = 1; ; attempt += 1) {
      const { current, revision } = await readState();
      options.authorize?.(current);
      if (options.expectedRevision !== undefined && options.expectedRevision !== revision)
        throw new StaleRevisionError(streamName, options.expectedRevision, revision);
      const events = decider.decide(
        typeof command === 'function' ? (command as (state: State) => Command)(current) : command,
        current,
      );
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
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (options.expectedRevision !== undefined)
          throw new StaleRevisionError(
            streamName,
            options.expectedRevision,
            error.actual === 'no_stream' ? -1 : error.actual,
          );
        const pause = retryBackoffMs(attempt);
        if (attempt > maxRetries || Date.now() + pause >= deadline)
          throw new ConcurrencyConflictError(streamName, attempt);
        queue?.retried();
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      const state = events.reduce(decider.evolve, current);
      return { events, state, nextRevision: result.nextRevision, position: result.position };
    }
  }
}

async function readStreamOrEmpty(
  store: EventStore,
  streamName: string,
  fromRevision?: number,
): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(streamName, fromRevision === undefined ? {} : { fromRevision });
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}
