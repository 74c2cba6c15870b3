import { Body, Controller, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from '../http/idempotency/idempotency.interceptor';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.guard';
import { ApiCommand } from '../http/openapi';
import { ReasonDto } from '../http/reason.dto';
import { RequestContext } from '../http/request-context';
import type { CommandContext } from '../shared/command-context';
import { ErasePersonalDataCommand } from './commands/erase-personal-data';

/** The answer to an erasure. */
export class ErasureResultDto {
  @ApiProperty({ description: 'The pseudonym of the person erased (not their sub)' })
  subjectRef!: string;
  @ApiProperty({ description: 'When the key was deleted (the first erasure, when repeated)' })
  erasedAt!: string;
  @ApiProperty({ description: 'Global position of the PersonalDataErased event' })
  position!: number;
}

/** `POST /v1/applications/:applicationId/erasure` (docs/API.md, "Privacy"). */
@ApiTags('privacy')
@ApiBearerAuth()
@Controller('v1/applications/:applicationId/erasure')
@UseInterceptors(IdempotencyInterceptor)
export class ErasureController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @Roles('programme_admin')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Erase the personal data of the student who submitted this application: their key is deleted, every copy of their data reads as null with erased: true, figures stay; repeating it changes nothing',
  })
  @ApiCommand({ status: 200, type: ErasureResultDto, errors: [400, 403, 404, 409] })
  erase(
    @Param('applicationId') applicationId: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.commands.execute(new ErasePersonalDataCommand(applicationId, body.reason, context));
  }
}
