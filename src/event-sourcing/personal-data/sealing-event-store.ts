import type { NewEvent, RecordedEvent } from '../event';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventSubscription,
  ReadStreamOptions,
  StoreIntegrity,
} from '../event-store';
import type { PersonalDataPolicy } from './policy';
import type { PersonalDataVault } from './vault';

/**
 * The event store the service writes through: every event's personal fields are sealed before
 * the adapter hashes and appends it, so the log, its hash chains and every copy made from it
 * (read models, exports) hold only ciphertext. Reads return what is stored (the upcasting store
 * around it brings them to the current shape); answers are opened at the edge
 * (`PersonalDataVault.unseal`). Verification reads the stored form and needs no key.
 */
export class SealingEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly vault: PersonalDataVault,
    private readonly policy: PersonalDataPolicy,
    /**
     * Roles whose actors are data subjects themselves (students): their `sub` is written to the
     * metadata as its pseudonym, so the log names no student; staff stay readable for auditors.
     */
    private readonly pseudonymousRoles: ReadonlySet<string> = new Set(),
  ) {}

  get integrity(): StoreIntegrity | undefined {
    return this.inner.integrity;
  }

  async append(
    streamName: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const sealed = await this.vault.sealEvents(events, this.policy);
    if (sealed.some((event) => this.pseudonymousRoles.has(event.metadata.actor.role)))
      await this.vault.ready();
    return this.inner.append(
      streamName,
      sealed.map((event) => this.pseudonymiseActor(event)),
      options,
    );
  }

  private pseudonymiseActor(event: NewEvent): NewEvent {
    const { actor } = event.metadata;
    if (!this.pseudonymousRoles.has(actor.role)) return event;
    const sub = this.vault.pseudonym(actor.sub);
    return { ...event, metadata: { ...event.metadata, actor: { ...actor, sub } } };
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
