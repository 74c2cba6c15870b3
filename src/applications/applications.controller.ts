import { Body, Controller, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from '../http/idempotency/idempotency.interceptor';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.guard';
import { ReasonDto } from '../http/reason.dto';
import { RequestContext } from '../http/request-context';
import type { CommandContext } from '../shared/command-context';
import {
  MatchDto,
  RecommendDto,
  SubmitApplicationDto,
  SubmitApplicationResultDto,
} from './commands/application.dto';
import { ApiCommand, PositionResultDto } from '../http/openapi';
import {
  DecideSelectionCommand,
  type SelectionDecision,
  SubmitApplicationCommand,
} from './commands/application.handlers';

@ApiTags('applications')
@ApiBearerAuth()
@Controller('v1')
@UseInterceptors(IdempotencyInterceptor)
export class ApplicationsController {
  constructor(private readonly commands: CommandBus) {}

  @Post('programmes/:programmeId/applications')
  @Roles('applicant')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Submit an application; eligibility is evaluated and kept with its reasons',
  })
  @ApiCommand({ status: 201, type: SubmitApplicationResultDto, errors: [400, 403, 404, 409, 422] })
  submit(
    @Param('programmeId') programmeId: string,
    @Body() body: SubmitApplicationDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.commands.execute(new SubmitApplicationCommand(programmeId, body, context));
  }

  @Post('applications/:applicationId/recommendation')
  @Roles('society_staff')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Recommend an eligible candidate to headquarters (at most the quota per society)',
  })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409, 422] })
  recommend(
    @Param('applicationId') id: string,
    @Body() body: RecommendDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.decide(id, { type: 'RecommendCandidate', note: body.note ?? null }, context);
  }

  @Post('applications/:applicationId/recommendation-withdrawal')
  @Roles('society_staff')
  @HttpCode(200)
  @ApiOperation({ summary: 'Withdraw a recommendation before matching; frees a quota slot' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409] })
  withdraw(
    @Param('applicationId') id: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.decide(id, { type: 'WithdrawRecommendation', reason: body.reason }, context);
  }

  @Post('applications/:applicationId/decline')
  @Roles('society_staff')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decline an application, with a reason' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409] })
  decline(
    @Param('applicationId') id: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.decide(id, { type: 'DeclineApplication', reason: body.reason }, context);
  }

  @Post('applications/:applicationId/match')
  @Roles('programme_admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Match a recommended candidate with a mentoring society' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409, 422] })
  match(
    @Param('applicationId') id: string,
    @Body() body: MatchDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.decide(
      id,
      { type: 'MatchCandidate', mentoringSocietyCode: body.mentoringSocietyCode },
      context,
    );
  }

  @Post('applications/:applicationId/not-selected')
  @Roles('programme_admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mark a recommended candidate as not selected' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409] })
  notSelected(
    @Param('applicationId') id: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.decide(id, { type: 'MarkNotSelected', reason: body.reason }, context);
  }

  private decide(applicationId: string, decision: SelectionDecision, context: CommandContext) {
    return this.commands.execute(new DecideSelectionCommand(applicationId, decision, context));
  }
}
