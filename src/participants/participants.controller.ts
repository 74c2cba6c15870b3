import { Body, Controller, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.guard';
import { ReasonDto } from '../http/reason.dto';
import { timeOrderedUuid } from '../event-sourcing';
import { IfMatch, StreamRevisionEtag } from '../http/etag';
import { IdempotencyInterceptor } from '../http/idempotency/idempotency.interceptor';
import { RequestContext } from '../http/request-context';
import type { CommandContext } from '../shared/command-context';
import {
  CorrectActivityDto,
  LogActivityDto,
  LogActivityResultDto,
  ReviewDto,
} from './commands/participant.dto';
import { ApiCommand, PositionResultDto } from '../http/openapi';
import { ParticipantCommandMessage, type ParticipantRequest } from './commands/participant.handler';

const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description: 'the ETag (stream revision) last read; stale gives 409',
};

/** Commands on one participant. Each answers with the participant's new revision as `ETag`. */
@ApiTags('participants')
@ApiBearerAuth()
@ApiHeader(IF_MATCH)
@Controller('v1/participants/:participantId')
// Idempotency outside the ETag: a replayed answer carries the ETag it was first given.
@UseInterceptors(IdempotencyInterceptor, StreamRevisionEtag)
export class ParticipantsController {
  constructor(private readonly commands: CommandBus) {}

  @Post('activities')
  @Roles('participant', 'society_staff')
  @HttpCode(201)
  @ApiOperation({ summary: 'Log an activity (pending until verified)' })
  @ApiCommand({ status: 201, type: LogActivityResultDto, errors: [400, 403, 404, 409, 422] })
  async log(
    @Param('participantId') participantId: string,
    @Body() body: LogActivityDto,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    const activityId = timeOrderedUuid(context.now.getTime());
    const request: ParticipantRequest = {
      type: 'LogActivity',
      activityId,
      ...body,
      endedOn: body.endedOn ?? null,
      evidence: body.evidence ?? null,
    };
    return { activityId, ...(await this.run(participantId, request, context, expectedRevision)) };
  }

  @Post('activities/:activityId/verification')
  @Roles('society_staff')
  @HttpCode(200)
  @ApiOperation({ summary: 'Verify a pending activity: its hours count from now on' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [403, 404, 409] })
  verify(
    @Param('participantId') participantId: string,
    @Param('activityId') activityId: string,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(
      participantId,
      { type: 'VerifyActivity', activityId },
      context,
      expectedRevision,
    );
  }

  @Post('activities/:activityId/rejection')
  @Roles('society_staff')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject a pending activity, with a reason' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409] })
  reject(
    @Param('participantId') participantId: string,
    @Param('activityId') activityId: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(
      participantId,
      { type: 'RejectActivity', activityId, reason: body.reason },
      context,
      expectedRevision,
    );
  }

  @Post('activities/:activityId/correction')
  @Roles('participant', 'society_staff')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Correct hours, pillar or category; a verified activity becomes pending again',
  })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409, 422] })
  correct(
    @Param('participantId') participantId: string,
    @Param('activityId') activityId: string,
    @Body() body: CorrectActivityDto,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    const { reason, hours, pillar, category } = body;
    const request: ParticipantRequest = {
      type: 'CorrectActivity',
      activityId,
      reason,
      ...(hours === undefined ? {} : { hours }),
      ...(pillar === undefined ? {} : { pillar }),
      ...(category === undefined ? {} : { category }),
    };
    return this.run(participantId, request, context, expectedRevision);
  }

  @Post('activities/:activityId/retraction')
  @Roles('participant', 'society_staff')
  @HttpCode(200)
  @ApiOperation({ summary: 'Retract an activity: it leaves every total' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409] })
  retract(
    @Param('participantId') participantId: string,
    @Param('activityId') activityId: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(
      participantId,
      { type: 'RetractActivity', activityId, reason: body.reason },
      context,
      expectedRevision,
    );
  }

  @Post('reviews')
  @Roles('society_staff')
  @HttpCode(201)
  @ApiOperation({ summary: 'Record a periodic progress review' })
  @ApiCommand({ status: 201, type: PositionResultDto, errors: [400, 403, 404, 409] })
  review(
    @Param('participantId') participantId: string,
    @Body() body: ReviewDto,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(
      participantId,
      { type: 'ReviewProgress', period: body.period, rating: body.rating, note: body.note ?? null },
      context,
      expectedRevision,
    );
  }

  @Post('completion')
  @Roles('society_staff')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Record completion (needs the required verified hours; 422 with the shortfall otherwise)',
  })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [403, 404, 409, 422] })
  complete(
    @Param('participantId') participantId: string,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(participantId, { type: 'CompleteParticipation' }, context, expectedRevision);
  }

  @Post('withdrawal')
  @Roles('society_staff', 'participant')
  @HttpCode(200)
  @ApiOperation({ summary: 'Withdraw the participant, with a reason' })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [400, 403, 404, 409] })
  withdraw(
    @Param('participantId') participantId: string,
    @Body() body: ReasonDto,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(
      participantId,
      { type: 'WithdrawParticipant', reason: body.reason },
      context,
      expectedRevision,
    );
  }

  @Post('association-invitation')
  @Roles('programme_admin')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Invite to the Young Scientists Advancement Association (completed, or on track with an exceptional review)',
  })
  @ApiCommand({ status: 200, type: PositionResultDto, errors: [403, 404, 409, 422] })
  invite(
    @Param('participantId') participantId: string,
    @RequestContext() context: CommandContext,
    @IfMatch() expectedRevision: number | undefined,
  ) {
    return this.run(
      participantId,
      { type: 'InviteToAdvancementAssociation' },
      context,
      expectedRevision,
    );
  }

  private run(
    participantId: string,
    request: ParticipantRequest,
    context: CommandContext,
    expectedRevision: number | undefined,
  ) {
    return this.commands.execute(
      new ParticipantCommandMessage(participantId, request, context, expectedRevision),
    );
  }
}
