import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventSubscription,
  NewEvent,
  ReadStreamOptions,
  RecordedEvent,
  StoreIntegrity,
} from '../event-sourcing';

/** One append made while a command ran. */
export type AppendRecord = {
  /** The stream written to. */
  readonly stream: string;
  /** The stream's revision after the append. */
  readonly revision: number;
  /** The global position of the last event appended. */
  readonly position: number;
  /** The types of the events appended, in order. */
  readonly events: readonly string[];
};

/** What one command did to the log: its appends, in order (none when it changed nothing). */
export type CommandTrace = { readonly appends: AppendRecord[] };

// Async context rather than a parameter: commands append through `handleCommand` in a dozen
// handlers, and what they appended is wanted in one place (the command log) without each handler
// passing it on.
const traces = new AsyncLocalStorage<CommandTrace>();

/** Runs `work` with `trace` collecting the appends it makes, wherever in its call tree. */
export function traceCommand<T>(trace: CommandTrace, work: () => T): T {
  return traces.run(trace, work);
}

/**
 * The store with each successful append noted in the trace of the command that made it, if
 * any: appends made outside a command (the programme seed at start-up) are not traced.
 */
export class TracedEventStore implements EventStore {
  constructor(private readonly inner: EventStore) {}

  get integrity(): StoreIntegrity | undefined {
    return this.inner.integrity;
  }

  async append(
    streamName: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const result = await this.inner.append(streamName, events, options);
    traces.getStore()?.appends.push({
      stream: streamName,
      revision: result.nextRevision,
      position: result.position,
      events: events.map((event) => event.type),
    });
    return result;
  }

  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(streamName, options);
  }

  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.inner.readAll(afterPosition, maxCount);
  }

  headPosition(): Promise<number> {
    return this.inner.headPosition();
  }

  subscribeToAll(afterPosition: number): EventSubscription {
    return this.inner.subscribeToAll(afterPosition);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
