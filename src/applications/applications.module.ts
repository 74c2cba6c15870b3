import { Module } from '@nestjs/common';
import { ApplicationsController } from './applications.controller';
import {
  ApplicationListController,
  ApplicationQueriesController,
} from './queries/application-queries.controller';
import { DecideSelectionHandler, SubmitApplicationHandler } from './commands/application.handlers';

@Module({
  controllers: [ApplicationsController, ApplicationQueriesController, ApplicationListController],
  providers: [SubmitApplicationHandler, DecideSelectionHandler],
})
export class ApplicationsModule {}
