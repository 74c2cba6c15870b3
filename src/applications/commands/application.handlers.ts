import { createHash } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type EventStore, handleCommand } from '../../event-sourcing';
import { EVENT_STORE } from '../../event-sourcing';
import { type CommandContext, eventMetadata, loadState } from '../../shared/command-context';
import { participantDecider, participantStream } from '../../participants/domain/participant';
import type { Positioned } from '../../shared/command-context';
import { loadApplicationFor, loadProgramme } from '../application-access';
import { applicationDecider, applicationStream, type ApplicationForm } from '../domain/application';
import type { Eligibility } from '../domain/eligibility';
import {
  selectionDecider,
  selectionStream,
  type SelectionCommand,
  type SelectionEvent,
} from '../domain/selection';

/** The participant id of an enrolled application: derived, so a second enrolment meets the first. */
export function participantIdFor(applicationId: string): string {
  return derivedUuid(`participant:${applicationId}`);
}

// A name-based UUID (version 5 layout over SHA-256): the same name always gives the same id.
function derivedUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The application id of a student's application to a programme: derived from both, so the
 * stream itself enforces "one application per student per programme" (a second submission,
 * however concurrent, meets the first on its expected revision).
 */
export function applicationIdFor(programmeId: string, applicantSub: string): string {
  return derivedUuid(`application:${programmeId}:${applicantSub}`);
}

export class SubmitApplicationCommand extends Command<
  { applicationId: string; eligibility: Eligibility } & Positioned
> {
  constructor(
    readonly programmeId: string,
    readonly form: ApplicationForm,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(SubmitApplicationCommand)
export class SubmitApplicationHandler implements ICommandHandler<SubmitApplicationCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ programmeId, form, context }: SubmitApplicationCommand) {
    const programme = await loadProgramme(this.store, programmeId);
    const applicationId = applicationIdFor(programmeId, context.principal.sub);
    const result = await handleCommand(
      this.store,
      applicationStream(applicationId),
      applicationDecider,
      {
        type: 'SubmitApplication',
        applicationId,
        programme,
        applicantSub: context.principal.sub,
        submittedAt: context.now.toISOString(),
        form,
      },
      { metadata: eventMetadata(context) },
    );
    return {
      applicationId,
      eligibility: result.state!.eligibility,
      position: result.position ?? null,
    };
  }
}

/** Every society or headquarters decision on an application, routed to the society's selection stream. */
export type SelectionDecision =
  | { readonly type: 'DeclineApplication'; readonly reason: string }
  | { readonly type: 'RecommendCandidate'; readonly note: string | null }
  | { readonly type: 'WithdrawRecommendation'; readonly reason: string }
  | { readonly type: 'MatchCandidate'; readonly mentoringSocietyCode: string }
  | { readonly type: 'MarkNotSelected'; readonly reason: string };

export class DecideSelectionCommand extends Command<Positioned> {
  constructor(
    readonly applicationId: string,
    readonly decision: SelectionDecision,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(DecideSelectionCommand)
export class DecideSelectionHandler implements ICommandHandler<DecideSelectionCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ applicationId, decision, context }: DecideSelectionCommand) {
    const application = await loadApplicationFor(this.store, applicationId, context.principal);
    const programme = await loadProgramme(this.store, application.programmeId);
    const command = { ...decision, application, programme } as SelectionCommand;
    // The quota is checked against the stream as read; a concurrent recommendation makes the
    // append fail on its expected revision, and handleCommand decides again on fresh state.
    const result = await handleCommand(
      this.store,
      selectionStream(application.programmeId, application.preferredSocietyCode),
      selectionDecider,
      command,
      { metadata: eventMetadata(context), maxRetries: 10 },
    );
    return { position: result.position ?? null };
  }
}

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
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ applicationId, startDate, context }: EnrolParticipantCommand) {
    const application = await loadApplicationFor(this.store, applicationId, context.principal);
    const programme = await loadProgramme(this.store, application.programmeId);
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
      { metadata: eventMetadata(context) },
    );
    return { participantId, position: result.position ?? null };
  }
}
