import { Module } from '@nestjs/common';
import { ApplicationsController } from './applications.controller';
import {
  DecideSelectionHandler,
  EnrolParticipantHandler,
  SubmitApplicationHandler,
} from './commands/application.handlers';

@Module({
  controllers: [ApplicationsController],
  providers: [SubmitApplicationHandler, DecideSelectionHandler, EnrolParticipantHandler],
})
export class ApplicationsModule {}
