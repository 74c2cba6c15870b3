import { Module } from '@nestjs/common';
import { DefineProgrammeHandler } from './commands/define-programme.handler';
import { ProgrammeSeed } from './programme-seed';
import { ProgrammesController } from './programmes.controller';

@Module({ controllers: [ProgrammesController], providers: [DefineProgrammeHandler, ProgrammeSeed] })
export class ProgrammesModule {}
