import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  type EventStore,
  handleCommand,
  nameBasedUuid,
  StreamCommandQueue,
} from '../../event-sourcing';
import { EVENT_STORE, PersonalDataVault } from '../../event-sourcing';
import { type CommandContext, eventMetadata } from '../../shared/command-context';
import type { Positioned } from '../../shared/command-context';
import { loadApplicationFor, loadProgramme } from './application-access';
import { applicationDecider, applicationStream, type ApplicationForm } from '../domain/application';
import type { Eligibility } from '../domain/eligibility';
import { selectionDecider, selectionStream, type SelectionCommand } from '../domain/selection';

/**
 * The application id of a student's application to a programme: derived from both, so the
 * stream itself enforces "one application per student per programme" (a second submission,
 * however concurrent, meets the first on its expected revision).
 */
export function applicationIdFor(programmeId: string, applicantSub: string): string {
  return nameBasedUuid(`application:${programmeId}:${applicantSub}`);
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
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamCommandQueue) private readonly queue: StreamCommandQueue,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
  ) {}

  async execute({ programmeId, form, context }: SubmitApplicationCommand) {
    const programme = await loadProgramme(this.store, programmeId);
    await this.vault.ready();
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
        subjectRef: this.vault.pseudonym(context.principal.sub),
        submittedAt: context.now.toISOString(),
        form,
      },
      { metadata: eventMetadata(context), queue: this.queue },
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
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamCommandQueue) private readonly queue: StreamCommandQueue,
  ) {}

  async execute({ applicationId, decision, context }: DecideSelectionCommand) {
    const application = await loadApplicationFor(this.store, applicationId, context.principal);
    const programme = await loadProgramme(this.store, application.programmeId);
    const command = { ...decision, application, programme } as SelectionCommand;
    // The quota is checked against the stream as read. This process's decisions on the society's
    // stream take turns (the queue), so each sees the ones before it; one from another process
    // makes the append fail on its expected revision, and handleCommand decides again.
    const result = await handleCommand(
      this.store,
      selectionStream(application.programmeId, application.preferredSocietyCode),
      selectionDecider,
      command,
      { metadata: eventMetadata(context), queue: this.queue },
    );
    return { position: result.position ?? null };
  }
}
