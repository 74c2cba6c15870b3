import { Body, Controller, HttpCode, Post, Res, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from '../http/idempotency/idempotency.interceptor';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../auth/auth.guard';
import { RequestContext } from '../http/request-context';
import type { CommandContext } from '../shared/command-context';
import { DefineProgrammeDto, DefineProgrammeResultDto } from './commands/define-programme.dto';
import { ApiCommand } from '../http/openapi';
import { DefineProgrammeCommand } from './commands/define-programme.handler';

@ApiTags('programmes')
@ApiBearerAuth()
@Controller('v1/programmes')
@UseInterceptors(IdempotencyInterceptor)
export class ProgrammesController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @Roles('programme_admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Define a programme (idempotent for identical rules: 200)' })
  @ApiCommand({
    status: 201,
    type: DefineProgrammeResultDto,
    errors: [400, 403, 409],
    description: 'defined',
  })
  @ApiResponse({
    status: 200,
    type: DefineProgrammeResultDto,
    description: 'the same rules were defined before: nothing appended (created: false)',
  })
  async define(
    @Body() body: DefineProgrammeDto,
    @RequestContext() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.commands.execute(new DefineProgrammeCommand(body, context));
    if (!result.created) void reply.status(200);
    return result;
  }
}
