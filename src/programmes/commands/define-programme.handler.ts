import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type EventStore, handleCommand, StreamCommandQueue } from '../../event-sourcing';
import { EVENT_STORE } from '../../event-sourcing';
import { type CommandContext, type Positioned, eventMetadata } from '../../shared/command-context';
import { programmeDecider, programmeStream, type ProgrammeRules } from '../domain/programme';

export class DefineProgrammeCommand extends Command<
  { programmeId: string; created: boolean } & Positioned
> {
  constructor(
    readonly rules: ProgrammeRules,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(DefineProgrammeCommand)
export class DefineProgrammeHandler implements ICommandHandler<DefineProgrammeCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamCommandQueue) private readonly queue: StreamCommandQueue,
  ) {}

  async execute({ rules, context }: DefineProgrammeCommand) {
    const result = await handleCommand(
      this.store,
      programmeStream(rules.programmeId),
      programmeDecider,
      { type: 'DefineProgramme', rules },
      {
        metadata: eventMetadata(context),
        queue: this.queue,
      },
    );
    return {
      programmeId: rules.programmeId,
      created: result.events.length > 0,
      position: result.position ?? null,
    };
  }
}
