import { Module } from '@nestjs/common';
import { ParticipantCommandHandler } from './commands/participant.handler';
import { ParticipantsController } from './participants.controller';
import { ParticipantQueriesController } from './queries/participant-queries.controller';

@Module({
  controllers: [ParticipantsController, ParticipantQueriesController],
  providers: [ParticipantCommandHandler],
})
export class ParticipantsModule {}
