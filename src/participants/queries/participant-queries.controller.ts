import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { CurrentPrincipal, Roles } from '../../auth/auth.guard';
import type { Principal } from '../../auth/principal';
import { canSee } from '../../applications/application-access';
import { ApiProblem } from '../../http/problem-details';
import { ProblemDocumentDto } from '../../http/openapi';
import { READ_MODEL_STORE, ReadYourWrites } from '../../projections/projections.module';
import type { ListQuery, Page, ReadModelStore } from '../../projections/read-model-store';
import { Clock } from '../../shared/clock';
import { localDate } from '../../shared/domain/calendar';
import { eligibilityView } from './eligibility.view';
import type { ProgressDoc } from './progress.projection';
import { progressView } from './progress.view';
import { type TimelineItem } from './timeline.projection';

/** `?minPosition=N`: answer once the read models have applied position N (read-your-writes). */
export class ReadQueryDto {
  @ApiPropertyOptional({
    description:
      'answer only once the read models have processed this global position; 503 after 5 s',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  minPosition?: number;
}

/** A paged list query. */
export class PageQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}

class VerifiedHoursDto {
  @ApiProperty() political!: number;
  @ApiProperty() professional!: number;
  @ApiProperty() social!: number;
  @ApiProperty() total!: number;
}

export class ProgressDto {
  @ApiProperty() participantId!: string;
  @ApiProperty() programmeId!: string;
  @ApiProperty() societyCode!: string;
  @ApiProperty({ enum: ['active', 'completed', 'withdrawn'] }) status!: string;
  @ApiProperty() windowStart!: string;
  @ApiProperty() windowEnd!: string;
  @ApiProperty({ type: VerifiedHoursDto }) verifiedHours!: VerifiedHoursDto;
  @ApiProperty() pendingHours!: number;
  @ApiProperty() requiredHours!: number;
  @ApiProperty() percentComplete!: number;
  @ApiProperty() expectedHoursToDate!: number;
  @ApiProperty({ enum: ['ahead', 'on_track', 'behind', 'at_risk', 'completed', 'withdrawn'] })
  pace!: string;
  @ApiProperty({ nullable: true }) projectedCompletionDate!: string | null;
  @ApiProperty({ nullable: true }) lastActivityOn!: string | null;
  @ApiProperty() position!: number;
}

/** Queries on one participant, from the read models. */
@ApiTags('participants')
@ApiBearerAuth()
@Controller('v1/participants/:participantId')
export class ParticipantQueriesController {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Get('progress')
  @Roles('participant', 'applicant', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: "A participant's progress: verified hours per pillar, pending hours, pace as of today",
  })
  @ApiResponse({ status: 200, type: ProgressDto })
  @ApiResponse({
    status: 404,
    type: ProblemDocumentDto,
    description: 'no such participant, or not yours to see',
  })
  @ApiResponse({
    status: 503,
    type: ProblemDocumentDto,
    description: 'minPosition not reached within 5 s (Retry-After)',
  })
  async progress(
    @Param('participantId') participantId: string,
    @Query() query: ReadQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const doc = await this.load(participantId, query.minPosition, principal);
    return progressView(doc, localDate(this.clock.now(), doc.timeZone));
  }

  @Get('eligibility')
  @Roles('participant', 'applicant', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary:
      'Whether completion, and an Advancement Association invitation, are possible today, and why',
  })
  @ApiResponse({ status: 404, type: ProblemDocumentDto })
  async eligibility(
    @Param('participantId') participantId: string,
    @Query() query: ReadQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const doc = await this.load(participantId, query.minPosition, principal);
    return eligibilityView(doc, localDate(this.clock.now(), doc.timeZone));
  }

  @Get('timeline')
  @Roles('participant', 'applicant', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary:
      'Every event of the participant in order: what happened, when, when it was recorded, by whom (paged)',
  })
  @ApiResponse({ status: 404, type: ProblemDocumentDto })
  async timeline(
    @Param('participantId') participantId: string,
    @Query() query: PageQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.load(participantId, query.minPosition, principal);
    const page = await listPage(this.readModels, 'timeline', {
      keyPrefix: `${participantId}/`,
      where: {},
      orderBy: 'key',
      limit: query.limit ?? 50,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { items: page.items as TimelineItem[], nextCursor: page.nextCursor };
  }

  private async load(
    participantId: string,
    minPosition: number | undefined,
    principal: Principal,
  ): Promise<ProgressDoc> {
    await this.readYourWrites.reach(minPosition);
    const doc = (await this.readModels.get('progress', participantId)) as ProgressDoc | undefined;
    // Another student's or another society's participant is answered like a missing one.
    if (!doc || !canSee(principal, doc.participantSub, doc.societyCode)) {
      throw new ApiProblem(404, 'PARTICIPANT_NOT_FOUND', `No participant ${participantId}.`);
    }
    return doc;
  }
}

/** A page of a read model; a cursor this API did not give is a 400. */
export async function listPage(
  readModels: ReadModelStore,
  projection: string,
  query: ListQuery,
): Promise<Page<unknown>> {
  try {
    return await readModels.list(projection, query);
  } catch (error) {
    if ((error as Error).message === 'invalid cursor')
      throw new ApiProblem(400, 'INVALID_CURSOR', 'cursor must be a nextCursor this API gave.');
    throw error;
  }
}
