import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type EventStore, handleCommand } from '../../event-sourcing';
import { EVENT_STORE } from '../../stores/event-store.module';
import { ApiProblem } from '../../http/problem-details';
import { canSee } from '../../applications/application-access';
import { type CommandContext, eventMetadata, loadState } from '../../shared/command-context';
import { localDate } from '../../shared/domain/calendar';
import type { Positioned } from '../../programmes/commands/define-programme.handler';
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
    /** From `If-Match`: the revision the client last read; stale means 409. */
    readonly ifMatch: number | undefined,
  ) {
    super();
  }
}

@CommandHandler(ParticipantCommandMessage)
export class ParticipantCommandHandler implements ICommandHandler<ParticipantCommandMessage> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ participantId, request, context, ifMatch }: ParticipantCommandMessage) {
    const stream = participantStream(participantId);
    const hidden = new ApiProblem(404, 'PARTICIPANT_NOT_FOUND', `No participant ${participantId}.`);
    if (!/^[0-9a-f-]{36}$/.test(participantId)) throw hidden;
    const { state, revision } = await loadState(this.store, stream, participantDecider);
    // Staff of another society, or another student, learn nothing about this participant.
    if (!state || !canSee(context.principal, state.participantSub, state.societyCode)) throw hidden;
    if (ifMatch !== undefined && ifMatch !== revision) {
      throw new ApiProblem(
        409,
        'STALE_REVISION',
        `The participant changed since revision ${ifMatch} (now ${revision}); read it again.`,
        {
          etag: `"${revision}"`,
        },
      );
    }
    const command = {
      ...request,
      today: localDate(context.now, state.timeZone),
    } as ParticipantCommand;
    const result = await handleCommand(this.store, stream, participantDecider, command, {
      metadata: eventMetadata(context),
      // With If-Match the client decided on what it read: a concurrent change is its to resolve.
      maxRetries: ifMatch === undefined ? 3 : 0,
    });
    return { revision: result.nextRevision, position: result.position ?? null };
  }
}
