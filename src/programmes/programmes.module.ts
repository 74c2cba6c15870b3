import { Module } from '@nestjs/common';
import { DefineProgrammeHandler } from './commands/define-programme.handler';
import { ProgrammeSeed } from './programme-seed';
import { ProgrammesController } from './programmes.controller';
import { ProgrammeQueriesController } from './queries/programme-queries.controller';

@Module({
  controllers: [ProgrammesController, ProgrammeQueriesController],
  providers: [DefineProgrammeHandler, ProgrammeSeed],
})
export class ProgrammesModule {}
