import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  IntersectionType,
} from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import type { EventStore, RecordedEvent } from '../../event-sourcing';
import { EVENT_STORE, PersonalDataVault } from '../../event-sourcing';
import { CurrentPrincipal, Roles } from '../../auth/auth.guard';
import type { Principal } from '../../shared/principal';
import { canSee, scopedSociety } from '../../auth/access';
import { ApiProblem } from '../../shared/api-problem';
import { ProblemDocumentDto } from '../../http/openapi';
import { IsCalendarDate, IsInstant } from '../../http/validators';
import { PageQueryDto, ReadQueryDto } from '../../http/query.dto';
import { ReadYourWrites } from '../../projections/read-your-writes';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../../projections/read-model-store';
import { ReadModels } from '../../projections/read-models';
import { findProgramme } from '../../programmes/queries/programmes.projection';
import { Clock } from '../../shared/clock';
import { localDate } from '../../shared/domain/calendar';
import { dayOfAnswer, progressAsOf, timelineAsOf, type AsOf } from './as-of';
import { eligibilityView } from './eligibility.view';
import { progressProjection, progressViews, type ProgressDoc } from './progress.projection';
import { progressView } from './progress.view';
import { PACES } from '../domain/pace';
import { fullNameOf } from '../domain/progress-summary';
import { describeItem, type TimelineItem } from './timeline.projection';
import { timelinePage } from './timeline-page';

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
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
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
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const live = await this.load(participantId, query.minPosition, principal);
    // The participant stream's revision, as its commands answer it: what a page sends back as
    // If-Match when it verifies or rejects an activity it has shown (409 if it changed since).
    void reply.header('etag', `"${live.revision}"`);
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
    const page = at
      ? pageOf(timelineAsOf(await this.stream(participantId), at), query.limit ?? 50, query.cursor)
      : await timelinePage(
          this.readModels,
          this.events,
          participantId,
          query.limit ?? 50,
          query.cursor || undefined,
        );
    // Summaries quote titles and reasons, so they are written once the data is opened.
    const opened = await this.vault.unseal(page);
    return { ...opened, items: opened.items.map(describeItem) };
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
    const doc = await this.readModels.get(progressProjection, participantId);
    // Another student's or another society's participant is answered like a missing one.
    if (
      !doc ||
      !canSee(principal, { subjectRef: doc.subjectRef, sub: doc.participantSub }, doc.societyCode)
    ) {
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

export class ParticipantListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'B33' })
  @IsOptional()
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, { message: 'society must be a society code such as B33' })
  society?: string;

  @ApiPropertyOptional({ enum: PACES })
  @IsOptional()
  @IsIn(PACES)
  pace?: string;
}

/** `GET /v1/programmes/:programmeId/participants`: progress as of today, listed. */
@ApiTags('participants')
@ApiBearerAuth()
@Controller('v1/programmes/:programmeId/participants')
export class ParticipantListController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Get()
  @Roles('society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: 'Participants with their progress as of today; filter by society and pace',
  })
  async participants(
    @Param('programmeId') programmeId: string,
    @Query() query: ParticipantListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    await findProgramme(this.readModels, programmeId);
    const society = scopedSociety(principal, query.society);
    // Pace depends on today, so it is filtered after the figures are read.
    const views = (await progressViews(this.readModels, programmeId, society, this.clock.now()))
      .map(({ summary, view }) => ({ ...view, fullName: fullNameOf(summary) }))
      .filter((view) => !query.pace || view.pace === query.pace)
      .sort((a, b) => a.participantId.localeCompare(b.participantId));
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (after && after[0] !== null) throw new InvalidCursorError();
    const start = after ? views.findIndex((view) => view.participantId > after[1]) : 0;
    const limit = query.limit ?? 50;
    const items = start < 0 ? [] : views.slice(start, start + limit);
    const last = items[items.length - 1];
    const more = start >= 0 && start + limit < views.length;
    return {
      items,
      nextCursor: more && last ? encodeCursor(null, last.participantId) : null,
    };
  }
}
