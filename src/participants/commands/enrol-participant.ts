import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { canSee } from '../../auth/access';
import {
  EVENT_STORE,
  type EventStore,
  handleCommand,
  nameBasedUuid,
  StreamCommandQueue,
} from '../../event-sourcing';
import { applicationDecider, applicationStream } from '../../applications/domain/application';
import {
  selectionDecider,
  selectionStream,
  type SelectionEvent,
} from '../../applications/domain/selection';
import { programmeDecider, programmeStream } from '../../programmes/domain/programme';
import {
  type CommandContext,
  type Positioned,
  eventMetadata,
  loadState,
} from '../../shared/command-context';
import { notFound } from '../../shared/domain/domain-error';
import { participantDecider, participantStream } from '../domain/participant';

/** The participant id of an enrolled application: derived, so a second enrolment meets the first. */
export function participantIdFor(applicationId: string): string {
  return nameBasedUuid(`participant:${applicationId}`);
}

/**
 * Enrolment creates the participant, so it belongs to this slice: it reads the application,
 * the programme and the society's selection (their domain types) and writes the participant.
 */
export class EnrolParticipantCommand extends Command<{ participantId: string } & Positioned> {
  constructor(
    readonly applicationId: string,
    readonly startDate: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(EnrolParticipantCommand)
export class EnrolParticipantHandler implements ICommandHandler<EnrolParticipantCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamCommandQueue) private readonly queue: StreamCommandQueue,
  ) {}

  async execute({ applicationId, startDate, context }: EnrolParticipantCommand) {
    // Made when thrown: an error captures a stack trace, which costs more than the check.
    const hidden = () => notFound('APPLICATION_NOT_FOUND', `No application ${applicationId}.`);
    if (!/^[0-9a-f-]{36}$/.test(applicationId)) throw hidden();
    const { state: application } = await loadState(
      this.store,
      applicationStream(applicationId),
      applicationDecider,
    );
    // Only those who may see the application learn that it exists.
    if (
      !application ||
      !canSee(
        context.principal,
        { subjectRef: application.subjectRef, sub: application.applicantSub },
        application.preferredSocietyCode,
      )
    )
      throw hidden();
    const { state: programmeState } = await loadState(
      this.store,
      programmeStream(application.programmeId),
      programmeDecider,
    );
    if (!programmeState.defined)
      throw notFound('PROGRAMME_NOT_FOUND', `No programme ${application.programmeId}.`);
    const programme = programmeState.rules;
    const selection = await loadState(
      this.store,
      selectionStream(application.programmeId, application.preferredSocietyCode),
      selectionDecider,
    );
    const matched = (selection.events as unknown as SelectionEvent[]).find(
      (event) => event.type === 'CandidateMatched' && event.data.applicationId === applicationId,
    );
    const participantId = participantIdFor(applicationId);
    const result = await handleCommand(
      this.store,
      participantStream(participantId),
      participantDecider,
      {
        type: 'EnrolParticipant',
        participantId,
        application,
        programme,
        startDate,
        selection: {
          status: selection.state.get(applicationId),
          mentoringSocietyCode:
            matched?.type === 'CandidateMatched' ? matched.data.mentoringSocietyCode : null,
        },
      },
      { metadata: eventMetadata(context), queue: this.queue },
    );
    return { participantId, position: result.position ?? null };
  }
}
