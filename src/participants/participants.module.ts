import { Module } from '@nestjs/common';
import { ParticipantCommandHandler } from './commands/participant.handler';
import { ParticipantsController } from './participants.controller';

@Module({ controllers: [ParticipantsController], providers: [ParticipantCommandHandler] })
export class ParticipantsModule {}
