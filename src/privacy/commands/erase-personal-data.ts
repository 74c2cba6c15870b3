import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  EVENT_STORE,
  type EventStore,
  PersonalDataVault,
  StreamNotFoundError,
  handleCommand,
  StreamCommandQueue,
} from '../../event-sourcing';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from '../../http/idempotency/idempotency-store';
import { applicationDecider, applicationStream } from '../../applications/domain/application';
import { type CommandContext, eventMetadata, loadState } from '../../shared/command-context';
import { conflict, notFound } from '../../shared/domain/domain-error';
import { dataSubjectDecider, dataSubjectStream } from '../domain/data-subject';

/** What an erasure answers: whom (by pseudonym), since when, and the erasure event's position. */
export type ErasureResult = {
  readonly subjectRef: string;
  readonly erasedAt: string;
  readonly position: number;
};

/** Erase the personal data of the student who submitted an application (docs/privacy.md). */
export class ErasePersonalDataCommand extends Command<ErasureResult> {
  constructor(
    readonly applicationId: string,
    readonly reason: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/**
 * Crypto-shredding: deletes the student's key (every sealed copy of their data, in the log, the
 * read models and exports, becomes unreadable at once), deletes their idempotency records, makes
 * both deletions reach the files, then records `PersonalDataErased`. Every step is idempotent, so
 * an erasure interrupted half-way is finished by running it again; erasing twice is a no-op that
 * answers with the first erasure.
 */
@CommandHandler(ErasePersonalDataCommand)
export class ErasePersonalDataHandler implements ICommandHandler<ErasePersonalDataCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamCommandQueue) private readonly queue: StreamCommandQueue,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
    @Inject(IDEMPOTENCY_STORE) private readonly idempotency: IdempotencyStore,
  ) {}

  async execute({ applicationId, reason, context }: ErasePersonalDataCommand) {
    const hidden = notFound('APPLICATION_NOT_FOUND', `No application ${applicationId}.`);
    if (!/^[0-9a-f-]{36}$/.test(applicationId)) throw hidden;
    const { state: application } = await loadState(
      this.store,
      applicationStream(applicationId),
      applicationDecider,
    );
    if (!application) throw hidden;
    const subjectRef = application.subjectRef;
    if (subjectRef === null) {
      throw conflict(
        'MIGRATION_REQUIRED',
        `Application ${applicationId} was recorded before personal data was encrypted, so its data cannot be erased by deleting a key; migrate the log first (participant-progress encrypt-log, docs/privacy.md).`,
      );
    }
    const { erasedAt } = await this.vault.erase(subjectRef, context.now.toISOString());
    await this.idempotency.deleteSubject(subjectRef);
    await this.idempotency.purgeDeleted();
    const stream = dataSubjectStream(subjectRef);
    const result = await handleCommand(
      this.store,
      stream,
      dataSubjectDecider,
      { type: 'RecordErasure', subjectRef, reason, erasedAt },
      { metadata: eventMetadata(context), queue: this.queue },
    );
    return {
      subjectRef,
      erasedAt,
      position: result.position ?? (await lastPosition(this.store, stream)),
    };
  }
}

async function lastPosition(store: EventStore, stream: string): Promise<number> {
  try {
    const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
    if (last) return last.position;
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  throw new Error(`${stream} has no erasure event after recording one`);
}
