import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type EventStore, handleCommand, StreamCommandQueue } from '../../event-sourcing';
import { EVENT_STORE } from '../../event-sourcing';
import { canSee } from '../../auth/access';
import { type CommandContext, eventMetadata } from '../../shared/command-context';
import { notFound } from '../../shared/domain/domain-error';
import { localDate } from '../../shared/domain/calendar';
import type { Positioned } from '../../shared/command-context';
import {
  participantDecider,
  participantStream,
  type ParticipantCommand,
} from '../domain/participant';

/** A participant command before the edge adds today's date (in the programme's time zone). */
export type ParticipantRequest = ParticipantCommand extends infer C
  ? C extends { readonly today: string }
    ? Omit<C, 'today'>
    : C extends { readonly type: 'EnrolParticipant' }
      ? never
      : C
  : never;

export class ParticipantCommandMessage extends Command<{ revision: number } & Positioned> {
  constructor(
    readonly participantId: string,
    readonly request: ParticipantRequest,
    readonly context: CommandContext,
    /** From `If-Match`: the revision the client decided on; a stale one is 409. */
    readonly expectedRevision: number | undefined,
  ) {
    super();
  }
}

/**
 * Every participant command: one read of the participant's stream, which serves the access
 * check, If-Match, "today" in the programme's time zone and the decision alike.
 */
@CommandHandler(ParticipantCommandMessage)
export class ParticipantCommandHandler implements ICommandHandler<ParticipantCommandMessage> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamCommandQueue) private readonly queue: StreamCommandQueue,
  ) {}

  async execute({ participantId, request, context, expectedRevision }: ParticipantCommandMessage) {
    // Made when thrown: an error captures a stack trace, which costs more than the check.
    const hidden = () => notFound('PARTICIPANT_NOT_FOUND', `No participant ${participantId}.`);
    if (!/^[0-9a-f-]{36}$/.test(participantId)) throw hidden();
    const result = await handleCommand(
      this.store,
      participantStream(participantId),
      participantDecider,
      (state) =>
        ({ ...request, today: localDate(context.now, state!.timeZone) }) as ParticipantCommand,
      {
        metadata: eventMetadata(context),
        queue: this.queue,
        ...(expectedRevision === undefined ? {} : { expectedRevision }),
        // Staff of another society, or another student, learn nothing about this participant.
        authorize: (state) => {
          if (
            !state ||
            !canSee(
              context.principal,
              { subjectRef: state.subjectRef, sub: state.participantSub },
              state.societyCode,
            )
          )
            throw hidden();
        },
      },
    );
    return { revision: result.nextRevision, position: result.position ?? null };
  }
}
