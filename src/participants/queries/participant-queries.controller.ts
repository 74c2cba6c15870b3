import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiProduces,
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
import { ActorDto, PageOf, erasedProperty } from '../../http/openapi';
import { IsCalendarDate, IsInstant } from '../../http/validators';
import { PageQueryDto, ReadQueryDto } from '../../http/query.dto';
import { ReadYourWrites } from '../../projections/read-your-writes';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../../projections/read-model-store';
import { ReadModels } from '../../projections/read-models';
import { findProgramme } from '../../programmes/queries/programmes.projection';
import { Clock } from '../../shared/clock';
import { localDate } from '../../shared/domain/calendar';
import { dayOfAnswer, eventsAsOf, progressAsOf, timelineAsOf, type AsOf } from './as-of';
import { eligibilityView } from './eligibility.view';
import { progressProjection, progressViews, type ProgressDoc } from './progress.projection';
import { progressView } from './progress.view';
import { PACES } from '../domain/pace';
import { fullNameOf } from '../domain/progress-summary';
import { describeItem, type TimelineItem } from './timeline.projection';
import { timelinePage } from './timeline-page';
import { timelineReadModel } from './timeline.projection';
import type { ProgressView } from '../domain/progress-summary';
import { CSV, XLSX, sendSheet, type Column, type Sheet } from '../../http/spreadsheet';

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

  @Get('timeline.csv')
  @Roles('participant', 'applicant', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary:
      'The whole timeline as CSV (RFC 4180, UTF-8 with BOM), asOf/knownAt as on the JSON route',
  })
  @ApiProduces(CSV)
  @ApiResponse(sheetResponse('csv'))
  async timelineCsv(
    @Param('participantId') participantId: string,
    @Query() query: AsOfQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ) {
    return sendSheet(
      reply,
      'csv',
      `timeline-${participantId}`,
      await this.timelineSheet(participantId, query, principal),
    );
  }

  @Get('timeline.xlsx')
  @Roles('participant', 'applicant', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: 'The whole timeline as an XLSX workbook, asOf/knownAt as on the JSON route',
  })
  @ApiProduces(XLSX)
  @ApiResponse(sheetResponse('xlsx'))
  async timelineXlsx(
    @Param('participantId') participantId: string,
    @Query() query: AsOfQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ) {
    return sendSheet(
      reply,
      'xlsx',
      `timeline-${participantId}`,
      await this.timelineSheet(participantId, query, principal),
    );
  }

  // Every item of the timeline, as the JSON route pages them, opened and described.
  private async timelineSheet(
    participantId: string,
    query: AsOfQueryDto,
    principal: Principal,
  ): Promise<Sheet<TimelineItem>> {
    await this.load(participantId, query.minPosition, principal);
    const at = asOfOf(query);
    let items: TimelineItem[];
    let position: number;
    if (at) {
      const events = await this.stream(participantId);
      items = timelineAsOf(events, at);
      // As of the last event the answer was folded from: later ones (recorded after knownAt)
      // are not in it.
      position = 0;
      for (const event of eventsAsOf(events, at)) position = Math.max(position, event.position);
    } else {
      position = (await this.readModels.activeGeneration(timelineReadModel))?.position ?? 0;
      items = [];
      let cursor: string | undefined;
      do {
        const page = await timelinePage(this.readModels, this.events, participantId, 500, cursor);
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
    }
    const opened = (await this.vault.unseal(items)).map(describeItem);
    return {
      name: 'Timeline',
      columns: TIMELINE_COLUMNS,
      rows: opened,
      position,
      exportedAt: this.clock.now(),
    };
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

/** The list's filters, shared by the JSON list and its exports. */
export class ParticipantFilterQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ example: 'B33' })
  @IsOptional()
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, { message: 'society must be a society code such as B33' })
  society?: string;

  @ApiPropertyOptional({ enum: PACES })
  @IsOptional()
  @IsIn(PACES)
  pace?: string;
}

export class ParticipantListQueryDto extends IntersectionType(
  PageQueryDto,
  ParticipantFilterQueryDto,
) {}

/**
 * The participants of a programme with their progress as of today, in participantId order,
 * filtered and scoped (staff: their own society) as the list and its exports answer them.
 */
async function participantRows(
  readModels: ReadModels,
  readYourWrites: ReadYourWrites,
  clock: Clock,
  programmeId: string,
  query: ParticipantFilterQueryDto,
  principal: Principal,
) {
  await readYourWrites.reach(query.minPosition);
  await findProgramme(readModels, programmeId);
  const society = scopedSociety(principal, query.society);
  // Pace depends on today, so it is filtered after the figures are read.
  return (await progressViews(readModels, programmeId, society, clock.now()))
    .map(({ summary, view }) => ({ ...view, fullName: fullNameOf(summary) }))
    .filter((view) => !query.pace || view.pace === query.pace)
    .sort((a, b) => a.participantId.localeCompare(b.participantId));
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
    const views = await participantRows(
      this.readModels,
      this.readYourWrites,
      this.clock,
      programmeId,
      query,
      principal,
    );
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

type ParticipantRow = ProgressView & { readonly fullName: string | null };

const PARTICIPANT_COLUMNS: readonly Column<ParticipantRow>[] = [
  { header: 'participantId', value: (row) => row.participantId },
  { header: 'fullName', value: (row) => row.fullName },
  { header: 'societyCode', value: (row) => row.societyCode },
  { header: 'status', value: (row) => row.status },
  { header: 'verifiedPolitical', value: (row) => row.verifiedHours.political },
  { header: 'verifiedProfessional', value: (row) => row.verifiedHours.professional },
  { header: 'verifiedSocial', value: (row) => row.verifiedHours.social },
  { header: 'verifiedTotal', value: (row) => row.verifiedHours.total },
  { header: 'pendingHours', value: (row) => row.pendingHours },
  { header: 'requiredHours', value: (row) => row.requiredHours },
  { header: 'percentComplete', value: (row) => row.percentComplete },
  { header: 'expectedHoursToDate', value: (row) => row.expectedHoursToDate },
  { header: 'pace', value: (row) => row.pace },
  { header: 'projectedCompletionDate', value: (row) => row.projectedCompletionDate },
  { header: 'lastActivityOn', value: (row) => row.lastActivityOn },
  { header: 'position', value: (row) => row.position },
];

const dataText = (item: TimelineItem, field: string): string | null => {
  const value = item.data[field];
  return typeof value === 'string' ? value : null;
};

const TIMELINE_COLUMNS: readonly Column<TimelineItem>[] = [
  { header: 'position', value: (item) => item.position },
  { header: 'type', value: (item) => item.type },
  { header: 'occurredOn', value: (item) => item.occurredOn ?? null },
  { header: 'recordedAt', value: (item) => item.recordedAt },
  { header: 'actorRole', value: (item) => item.actor.role },
  { header: 'actorSub', value: (item) => item.actor.sub },
  { header: 'summary', value: (item) => item.summary },
  { header: 'title', value: (item) => dataText(item, 'title') },
  {
    header: 'hours',
    value: (item) => (typeof item.data.hours === 'number' ? item.data.hours : null),
  },
  { header: 'pillar', value: (item) => dataText(item, 'pillar') },
  { header: 'data', value: (item) => JSON.stringify(item.data) },
];

/** The 200 of an export, in its one content type (docs/integration.md). */
function sheetResponse(format: 'csv' | 'xlsx') {
  return {
    status: 200,
    description:
      format === 'csv'
        ? "RFC 4180 CSV, UTF-8 with BOM: two preamble records (as of position N, exported at), the header, one record per row; text cells starting with = + - @ are prefixed with '"
        : 'XLSX workbook, one sheet: as of position N, exported at, the header, one row per row',
    headers: {
      'Content-Disposition': {
        description: 'attachment; the file name ends in -position-N',
        schema: { type: 'string' },
      },
      'X-As-Of-Position': {
        description: 'the global position the export is as of',
        schema: { type: 'integer' },
      },
    },
    content: {
      [format === 'csv' ? 'text/csv' : XLSX]: { schema: { type: 'string', format: 'binary' } },
    },
  } as const;
}

/** `GET /v1/programmes/:programmeId/participants.csv|.xlsx`: the list for staff's spreadsheets. */
@ApiTags('participants')
@ApiBearerAuth()
@Controller('v1/programmes/:programmeId')
export class ParticipantExportController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
  ) {}

  @Get('participants.csv')
  @Roles('society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: 'The participants list as CSV (every row, same filters and scoping as the list)',
  })
  @ApiProduces(CSV)
  @ApiResponse(sheetResponse('csv'))
  async csv(
    @Param('programmeId') programmeId: string,
    @Query() query: ParticipantFilterQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ) {
    return sendSheet(
      reply,
      'csv',
      `participants-${programmeId}`,
      await this.sheet(programmeId, query, principal),
    );
  }

  @Get('participants.xlsx')
  @Roles('society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: 'The participants list as an XLSX workbook (same filters and scoping as the list)',
  })
  @ApiProduces(XLSX)
  @ApiResponse(sheetResponse('xlsx'))
  async xlsx(
    @Param('programmeId') programmeId: string,
    @Query() query: ParticipantFilterQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ) {
    return sendSheet(
      reply,
      'xlsx',
      `participants-${programmeId}`,
      await this.sheet(programmeId, query, principal),
    );
  }

  private async sheet(
    programmeId: string,
    query: ParticipantFilterQueryDto,
    principal: Principal,
  ): Promise<Sheet<ParticipantRow>> {
    // Wait for ?minPosition first, then read the checkpoint: the rows are at least as new as the
    // position the file names, and that position is at least the one asked for.
    await this.readYourWrites.reach(query.minPosition);
    const position = (await this.readModels.activeGeneration(progressProjection))?.position ?? 0;
    const rows = await participantRows(
      this.readModels,
      this.readYourWrites,
      this.clock,
      programmeId,
      query,
      principal,
    );
    return {
      name: 'Participants',
      columns: PARTICIPANT_COLUMNS,
      rows: (await this.vault.unseal(rows)) as unknown as ParticipantRow[],
      position,
      exportedAt: this.clock.now(),
    };
  }
}
