import { Body, Controller, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from '../http/idempotency/idempotency.interceptor';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.guard';
import { ApiCommand } from '../http/openapi';
import { RequestContext } from '../http/request-context';
import type { CommandContext } from '../shared/command-context';
import { EnrolParticipantCommand } from './commands/enrol-participant';
import { EnrolDto, EnrolResultDto } from './commands/participant.dto';

/** Enrolment: the application's route, this slice's command, since it creates the participant. */
@ApiTags('applications')
@ApiBearerAuth()
@Controller('v1/applications/:applicationId')
@UseInterceptors(IdempotencyInterceptor)
export class EnrolmentController {
  constructor(private readonly commands: CommandBus) {}

  @Post('enrolment')
  @Roles('programme_admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Enrol a matched candidate as a participant' })
  @ApiCommand({ status: 201, type: EnrolResultDto, errors: [400, 403, 404, 409, 422] })
  enrol(
    @Param('applicationId') id: string,
    @Body() body: EnrolDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.commands.execute(new EnrolParticipantCommand(id, body.startDate, context));
  }
}
