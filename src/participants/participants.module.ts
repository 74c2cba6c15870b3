import { Module } from '@nestjs/common';
import { EnrolParticipantHandler } from './commands/enrol-participant';
import { ParticipantCommandHandler } from './commands/participant.handler';
import { EnrolmentController } from './enrolment.controller';
import { ParticipantsController } from './participants.controller';
import {
  ParticipantListController,
  ParticipantExportController,
  ParticipantQueriesController,
} from './queries/participant-queries.controller';

@Module({
  controllers: [
    ParticipantsController,
    EnrolmentController,
    ParticipantQueriesController,
    ParticipantListController,
    ParticipantExportController,
  ],
  providers: [ParticipantCommandHandler, EnrolParticipantHandler],
})
export class ParticipantsModule {}
