import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  IntersectionType,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, MaxLength, Min } from 'class-validator';
import type { EventStore, RecordedEvent } from '../../event-sourcing';
import { EVENT_STORE } from '../../stores/event-store.module';
import { CurrentPrincipal, Roles } from '../../auth/auth.guard';
import type { Principal } from '../../auth/principal';
import { canSee } from '../../applications/application-access';
import { ApiProblem } from '../../http/problem-details';
import { ProblemDocumentDto } from '../../http/openapi';
import { IsCalendarDate, IsInstant, IsText } from '../../http/validators';
import { READ_MODEL_STORE, ReadYourWrites } from '../../projections/projections.module';
import {
  InvalidCursorError,
  decodeCursor,
  encodeCursor,
  type ReadModelStore,
} from '../../projections/read-model-store';
import { Clock } from '../../shared/clock';
import { localDate } from '../../shared/domain/calendar';
import { dayOfAnswer, progressAsOf, timelineAsOf, type AsOf } from './as-of';
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
  @IsText()
  @MaxLength(1000)
  cursor?: string;
}

const asOfProperty = {
  description:
    'answer about the state at the end of this day (programme time zone): only what had happened by then',
  example: '2026-06-30',
};
const knownAtProperty = {
  description:
    'answer as the system knew it at this instant: only events recorded by then (ISO 8601 with offset)',
  example: '2026-07-15T08:00:00+08:00',
};

/** `?asOf=DATE&knownAt=TIMESTAMP` (docs/API.md): either, both, or neither (the live read model). */
export class AsOfQueryDto extends ReadQueryDto {
  @ApiPropertyOptional(asOfProperty)
  @IsOptional()
  @IsCalendarDate()
  asOf?: string;

  @ApiPropertyOptional(knownAtProperty)
  @IsOptional()
  @IsInstant()
  knownAt?: string;
}

/** A timeline page, optionally as of a date and/or as known at an instant. */
export class TimelineQueryDto extends IntersectionType(PageQueryDto, AsOfQueryDto) {}

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
    @Inject(EVENT_STORE) private readonly events: EventStore,
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
    @Query() query: AsOfQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const live = await this.load(participantId, query.minPosition, principal);
    const at = asOfOf(query);
    if (!at) return progressView(live, localDate(this.clock.now(), live.timeZone));
    const doc = await this.docAsOf(participantId, at);
    return { ...progressView(doc, dayOfAnswer(at, doc.timeZone, this.clock.now())), ...at };
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
    @Query() query: AsOfQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    const live = await this.load(participantId, query.minPosition, principal);
    const at = asOfOf(query);
    if (!at) return eligibilityView(live, localDate(this.clock.now(), live.timeZone));
    const doc = await this.docAsOf(participantId, at);
    return { ...eligibilityView(doc, dayOfAnswer(at, doc.timeZone, this.clock.now())), ...at };
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
    @Query() query: TimelineQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.load(participantId, query.minPosition, principal);
    const at = asOfOf(query);
    if (at) {
      const items = timelineAsOf(await this.stream(participantId), at);
      return pageOf(items, query.limit ?? 50, query.cursor);
    }
    const page = await this.readModels.list('timeline', {
      keyPrefix: `${participantId}/`,
      where: {},
      orderBy: 'key',
      limit: query.limit ?? 50,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { items: page.items as TimelineItem[], nextCursor: page.nextCursor };
  }

  // Folded from the participant's events through the live projection's own code (as-of.ts).
  private async docAsOf(participantId: string, at: AsOf): Promise<ProgressDoc> {
    const doc = progressAsOf(participantId, await this.stream(participantId), at);
    if (!doc) {
      throw new ApiProblem(
        404,
        'NOT_ENROLLED_AS_OF',
        `Participant ${participantId} was not enrolled${at.asOf ? ` as of ${at.asOf}` : ''}${at.knownAt ? ` as known at ${at.knownAt}` : ''}.`,
      );
    }
    return doc;
  }

  private stream(participantId: string): Promise<RecordedEvent[]> {
    return this.events.readStream(`participant-${participantId}`);
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

function asOfOf(query: { asOf?: string; knownAt?: string }): AsOf | undefined {
  if (query.asOf === undefined && query.knownAt === undefined) return undefined;
  return {
    ...(query.asOf !== undefined ? { asOf: query.asOf } : {}),
    ...(query.knownAt !== undefined ? { knownAt: new Date(query.knownAt).toISOString() } : {}),
  };
}

// A timeline folded in memory, paged the way the read model pages it: by position.
function pageOf(items: TimelineItem[], limit: number, cursor: string | undefined) {
  let after = 0;
  if (cursor !== undefined) {
    const [position] = decodeCursor(cursor);
    if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0)
      throw new InvalidCursorError();
    after = position;
  }
  const rest = items.filter((item) => item.position > after);
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page,
    nextCursor: rest.length > limit && last ? encodeCursor(last.position, '') : null,
  };
}
