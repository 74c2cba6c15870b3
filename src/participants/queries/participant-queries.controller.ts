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
import { IsIn, IsOptional, Matches } from 'class-validator';
import type { EventStore, RecordedEvent } from '../../event-sourcing';
import { EVENT_STORE, PersonalDataVault } from '../../event-sourcing';
import { CurrentPrincipal, Roles } from '../../auth/auth.guard';
import type { Principal } from '../../shared/principal';
import { canSee, scopedSociety } from '../../auth/access';
import { ApiProblem } from '../../shared/api-problem';
import { PageOf, erasedProperty } from '../../http/openapi';
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
  @ApiProperty({ example: 20 }) political!: number;
  @ApiProperty({ example: 64.5 }) professional!: number;
  @ApiProperty({ example: 16 }) social!: number;
  @ApiProperty({ example: 100.5 }) total!: number;
}

export class ProgressDto {
  @ApiProperty({ example: '019ac5f2-7d1e-7c3a-8e4f-0a1b2c3d4e5f' }) participantId!: string;
  @ApiProperty({ example: 'cast-dtdp-2025' }) programmeId!: string;
  @ApiProperty({ example: 'B33' }) societyCode!: string;
  @ApiProperty({ enum: ['active', 'completed', 'withdrawn'] }) status!: string;
  @ApiProperty({ example: '2026-01-01' }) windowStart!: string;
  @ApiProperty({ example: '2027-12-31' }) windowEnd!: string;
  @ApiProperty({ type: VerifiedHoursDto }) verifiedHours!: VerifiedHoursDto;
  @ApiProperty({ example: 6 }) pendingHours!: number;
  @ApiProperty({ type: 'integer', example: 240 }) requiredHours!: number;
  @ApiProperty({ example: 41.88 }) percentComplete!: number;
  @ApiProperty({ example: 90 }) expectedHoursToDate!: number;
  @ApiProperty({ enum: PACES }) pace!: string;
  @ApiProperty({ type: String, nullable: true, example: '2027-10-12' })
  projectedCompletionDate!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-09-02' })
  lastActivityOn!: string | null;
  @ApiProperty({ type: 'integer', example: 118 }) position!: number;
}

/** Progress, or eligibility, as of a date and/or as known at an instant: the query echoed. */
class AsOfEchoDto {
  @ApiPropertyOptional({ ...asOfProperty, description: 'the asOf asked for' }) asOf?: string;
  @ApiPropertyOptional({
    example: '2026-07-15T00:00:00.000Z',
    description: 'the knownAt asked for, in UTC',
  })
  knownAt?: string;
}

export class ProgressAnswerDto extends IntersectionType(ProgressDto, AsOfEchoDto) {}

/** One row of `GET /v1/programmes/:programmeId/participants`: progress and the name. */
export class ParticipantRowDto extends ProgressDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: '李明',
    description: 'personal data: null once the participant is erased',
  })
  fullName!: string | null;

  @ApiPropertyOptional(erasedProperty) erased?: boolean;
}

export class ParticipantPageDto extends PageOf(ParticipantRowDto) {}

class CompletionCheckDto {
  @ApiProperty({ example: false }) possible!: boolean;
  @ApiProperty({ example: '100.5 of 240 hours verified; 139.5 short' }) detail!: string;
  @ApiProperty({ example: 139.5 }) shortfallHours!: number;
}

class InvitationCheckDto {
  @ApiProperty() possible!: boolean;
  @ApiProperty({
    type: String,
    enum: ['completed', 'exceptional_on_track'],
    nullable: true,
    example: 'exceptional_on_track',
  })
  basis!: string | null;
  @ApiProperty({ example: 'on track at 41.88%' }) detail!: string;
  @ApiProperty({ enum: PACES }) pace!: string;
}

export class ParticipantEligibilityDto extends AsOfEchoDto {
  @ApiProperty({ example: '019ac5f2-7d1e-7c3a-8e4f-0a1b2c3d4e5f' }) participantId!: string;
  @ApiProperty({ type: CompletionCheckDto }) completion!: CompletionCheckDto;
  @ApiProperty({ type: InvitationCheckDto }) invitation!: InvitationCheckDto;
  @ApiProperty({ type: 'integer', example: 118 }) position!: number;
}

class ActorDto {
  @ApiProperty({ example: 'society_staff-1' }) sub!: string;
  @ApiProperty({ example: 'society_staff' }) role!: string;
}

export class TimelineItemDto {
  @ApiProperty({ type: 'integer', example: 118 }) position!: number;
  @ApiProperty({ example: 'ActivityLogged' }) type!: string;
  @ApiPropertyOptional({ example: '2026-09-02', description: 'when it happened, where it says' })
  occurredOn?: string;
  @ApiProperty({ example: '2026-09-03T01:12:00.000Z' }) recordedAt!: string;
  @ApiProperty({ type: ActorDto }) actor!: ActorDto;
  @ApiProperty({ example: 'Activity logged: Seminar on magnet recycling' }) summary!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "the event's data in its current schema (personal fields null once erased)",
  })
  data!: Record<string, unknown>;
}

export class TimelinePageDto extends PageOf(TimelineItemDto) {}

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
  @ApiResponse({ status: 200, type: ProgressAnswerDto })
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
  @ApiResponse({ status: 200, type: ParticipantEligibilityDto })
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
  @ApiResponse({ status: 200, type: TimelinePageDto })
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
  @ApiResponse({ status: 200, type: ParticipantPageDto })
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
