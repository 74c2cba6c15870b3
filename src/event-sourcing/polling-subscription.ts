import type { RecordedEvent } from './event';
import type { EventSubscription } from './event-store';

/** What a polling subscription needs from a store. */
export interface PollingSource {
  /** Up to `maxCount` events after `afterPosition`, in position order. */
  readAll(afterPosition: number, maxCount: number): Promise<RecordedEvent[]>;
  /** Calls `listener` whenever new events may have been committed; returns an unsubscribe. */
  onAppended(listener: () => void): () => void;
}

/** Tuning for `PollingSubscription`. */
export interface PollingOptions {
  /** Events read per query while catching up; default 500. */
  readonly batchSize?: number;
  /** Longest wait between checks when no append notification arrives; default 250 ms. */
  readonly pollIntervalMs?: number;
}

/**
 * Catch-up then live over any store that can read its log in position order: reads batches
 * after the last delivered position until it runs dry, then waits for an append notification
 * (or the poll interval, for writers in other processes) and reads again. Because every read
 * starts strictly after the last delivered position, it can neither skip nor repeat an event,
 * provided the store's `readAll` never shows a position before an earlier one is visible.
 */
export class PollingSubscription implements EventSubscription {
  private closed = false;
  private started = false;
  private signalled = false;
  private wake: (() => void) | undefined;
  private readonly unlisten: () => void;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly source: PollingSource,
    private readonly afterPosition: number,
    options: PollingOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.unlisten = source.onAppended(() => {
      this.signalled = true;
      this.wake?.();
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    if (this.started) throw new Error('A subscription can be iterated only once; subscribe again.');
    this.started = true;
    let last = this.afterPosition;
    try {
      while (!this.closed) {
        this.signalled = false;
        const batch = await this.source.readAll(last, this.batchSize);
        for (const event of batch) {
          if (this.closed) return;
          last = event.position;
          yield event;
        }
        if (batch.length < this.batchSize && !this.signalled && !this.closed) await this.sleep();
      }
    } finally {
      this.closed = true;
      this.unlisten();
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.unlisten();
    this.wake?.();
    return Promise.resolve();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      this.wake = done;
    });
  }
}
