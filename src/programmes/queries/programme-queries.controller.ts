import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { CurrentPrincipal, Roles } from '../../auth/auth.guard';
import { AppConfig } from '../../config/app-config';
import type { Principal } from '../../auth/principal';
import type { ApplicationDoc } from '../../applications/queries/applications.projection';
import { ApiProblem } from '../../http/problem-details';
import { ProblemDocumentDto } from '../../http/openapi';
import {
  PageQueryDto,
  ReadQueryDto,
} from '../../participants/queries/participant-queries.controller';
import type { ProgressSummary } from '../../participants/queries/progress.projection';
import { viewOf, type ProgressView } from '../../participants/queries/progress.view';
import { READ_MODEL_STORE, ReadYourWrites } from '../../projections/projections.module';
import {
  InvalidCursorError,
  decodeCursor,
  encodeCursor,
  type ReadModelStore,
} from '../../projections/read-model-store';
import { Clock } from '../../shared/clock';
import { localDate } from '../../shared/domain/calendar';
import { PILLARS } from '../domain/programme';
import type { ProgrammeDoc } from './programmes.projection';
import { DashboardCache, quarterHourOf } from './dashboard-cache';

const APPLICATION_STATUSES = [
  'submitted',
  'declined',
  'recommended',
  'withdrawn',
  'matched',
  'not_selected',
  'enrolled',
] as const;
const PACES = ['ahead', 'on_track', 'behind', 'at_risk', 'completed', 'withdrawn'] as const;

export class ApplicationListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'B33' })
  @IsOptional()
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, { message: 'society must be a society code such as B33' })
  society?: string;

  @ApiPropertyOptional({ enum: APPLICATION_STATUSES })
  @IsOptional()
  @IsIn(APPLICATION_STATUSES)
  status?: string;
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

export class DashboardQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ example: 'B33', description: 'one society; all of them when absent' })
  @IsOptional()
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, { message: 'society must be a society code such as B33' })
  society?: string;
}

/** Programmes and what hangs off them, from the read models. */
@ApiTags('programmes')
@ApiBearerAuth()
@Controller('v1/programmes')
export class ProgrammeQueriesController {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(DashboardCache) private readonly dashboards: DashboardCache,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every programme and its rules (any role)' })
  async list(@Query() query: PageQueryDto) {
    await this.readYourWrites.reach(query.minPosition);
    return this.readModels.list('programmes', {
      where: {},
      orderBy: 'key',
      limit: query.limit ?? 50,
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
  }

  @Get(':programmeId')
  @ApiOperation({ summary: "A programme's rules (any role)" })
  @ApiResponse({ status: 404, type: ProblemDocumentDto })
  async get(@Param('programmeId') programmeId: string, @Query() query: ReadQueryDto) {
    await this.readYourWrites.reach(query.minPosition);
    return this.programme(programmeId);
  }

  @Get(':programmeId/applications')
  @Roles('society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: "Applications with their status and eligibility; staff see their own society's only",
  })
  async applications(
    @Param('programmeId') programmeId: string,
    @Query() query: ApplicationListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    await this.programme(programmeId);
    const society = scopedSociety(principal, query.society);
    const page = await this.readModels.list('applications', {
      where: {
        programmeId,
        ...societyFilter(society),
        ...(query.status ? { status: query.status } : {}),
      },
      orderBy: 'submittedAt',
      limit: query.limit ?? 50,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return page;
  }

  @Get(':programmeId/participants')
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
    await this.programme(programmeId);
    const society = scopedSociety(principal, query.society);
    // Pace depends on today, so it is filtered after the figures are read.
    const views = (await this.progressOf(programmeId, society))
      .map(({ summary, view }) => ({ ...view, fullName: summary.fullName }))
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

  @Get(':programmeId/dashboard')
  @Roles('dashboard', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({ summary: 'Aggregates for one society or all of them: no names, no free text' })
  async dashboard(
    @Param('programmeId') programmeId: string,
    @Query() query: DashboardQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    const programme = await this.programme(programmeId);
    const society = scopedSociety(principal, query.society);
    // Only the dashboard role (wall screens, the widest audience) gets small cells suppressed;
    // staff and admins, who may see the people themselves, get exact figures. A minimum group
    // of 1 suppresses nothing.
    const minGroup = principal.role === 'dashboard' ? this.config.DASHBOARD_MIN_GROUP : 1;
    // Same read models at the same checkpoints, same quarter-hour, same suppression: same
    // answer. The minimum group is part of the key, so an exact answer computed for staff is
    // never served to the dashboard role.
    const [applied, progressed] = await Promise.all([
      this.readModels.activeGeneration('applications'),
      this.readModels.activeGeneration('progress'),
    ]);
    const key = JSON.stringify([
      programmeId,
      society ?? null,
      minGroup,
      applied?.generation,
      applied?.position,
      progressed?.generation,
      progressed?.position,
      quarterHourOf(this.clock.now()),
    ]);
    return this.dashboards.get(key, () => this.aggregate(programme, society, minGroup));
  }

  /**
   * The dashboard's figures. With `minGroup` k above 1 (docs/API.md, "Privacy"), a count of 1 to k-1
   * people is shown as null, and the hours are shown as null when fewer than k participants
   * contribute to them. Suppression is reported per group of figures, each object carrying its
   * own `suppressed` flag: the top level holds the counts (applications through atRisk) and says
   * whether any of them is null; `verifiedHours` holds the hours, all computed over the same
   * participants and so suppressed together. `recommendationQuota` is a programme rule, not a
   * figure about people, and is never suppressed. A count of 0 and hours over nobody are shown:
   * they describe no one.
   */
  private async aggregate(programme: ProgrammeDoc, society: string | undefined, minGroup: number) {
    const programmeId = programme.programmeId;
    const applications = (await this.readModels.indexes('applications', {
      programmeId,
      ...societyFilter(society),
    })) as unknown as Array<{ status: ApplicationDoc['status']; eligible: number }>;
    const progress = await this.progressOf(programmeId, society);
    const tooFew = (people: number) => people > 0 && people < minGroup;
    const shown = (people: number): number | null => (tooFew(people) ? null : people);
    const count = (statuses: readonly string[]) =>
      applications.filter((doc) => statuses.includes(doc.status)).length;
    const hours = Object.fromEntries(PILLARS.map((pillar) => [pillar, 0])) as Record<
      (typeof PILLARS)[number],
      number
    >;
    for (const { view } of progress)
      for (const pillar of PILLARS) hours[pillar] += view.verifiedHours[pillar];
    const total = Object.values(hours).reduce((sum, value) => sum + value, 0);
    const hoursSuppressed = tooFew(progress.length);
    const people = {
      applications: applications.length,
      eligible: applications.filter((doc) => doc.eligible === 1).length,
      recommended: count(['recommended', 'matched', 'not_selected', 'enrolled']),
      matched: count(['matched', 'enrolled']),
      enrolled: progress.length,
      active: progress.filter(({ view }) => view.status === 'active').length,
      completed: progress.filter(({ view }) => view.status === 'completed').length,
      withdrawn: progress.filter(({ view }) => view.status === 'withdrawn').length,
      behind: progress.filter(({ view }) => view.pace === 'behind').length,
      atRisk: progress.filter(({ view }) => view.pace === 'at_risk').length,
    };
    return {
      programmeId,
      society: society ?? null,
      applications: shown(people.applications),
      eligible: shown(people.eligible),
      recommended: shown(people.recommended),
      recommendationQuota:
        programme.recommendationQuota * (society !== undefined ? 1 : programme.societies.length),
      matched: shown(people.matched),
      enrolled: shown(people.enrolled),
      active: shown(people.active),
      completed: shown(people.completed),
      withdrawn: shown(people.withdrawn),
      verifiedHours: {
        political: hoursSuppressed ? null : hours.political,
        professional: hoursSuppressed ? null : hours.professional,
        social: hoursSuppressed ? null : hours.social,
        total: hoursSuppressed ? null : total,
        suppressed: hoursSuppressed,
      },
      behind: shown(people.behind),
      atRisk: shown(people.atRisk),
      suppressed: Object.values(people).some(tooFew),
    };
  }

  private async programme(programmeId: string): Promise<ProgrammeDoc> {
    const doc = (await this.readModels.get('programmes', programmeId)) as ProgrammeDoc | undefined;
    if (!doc) throw new ApiProblem(404, 'PROGRAMME_NOT_FOUND', `No programme ${programmeId}.`);
    return doc;
  }

  // Index rows only: the summary each progress document keeps, not the documents themselves.
  private async progressOf(
    programmeId: string,
    society: string | undefined,
  ): Promise<Array<{ summary: ProgressSummary; view: ProgressView }>> {
    const summaries = (await this.readModels.indexes('progress', {
      programmeId,
      ...societyFilter(society),
    })) as unknown as ProgressSummary[];
    const now = this.clock.now();
    return summaries.map((summary) => ({
      summary,
      view: viewOf(summary, localDate(now, summary.timeZone)),
    }));
  }
}

/**
 * The society a list or aggregate covers: staff always their own (asking for another is refused
 * rather than answered empty), everyone else the one asked for, or all when none is. Callers
 * test the result with `!== undefined`, never for truthiness, so no value can widen the scope.
 */
function scopedSociety(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.role !== 'society_staff') return requested;
  if (requested !== undefined && requested !== principal.society) {
    throw new ApiProblem(
      403,
      'FORBIDDEN',
      `Staff of ${principal.society} see their own society only.`,
    );
  }
  return principal.society;
}

/** The read-model filter for a society scope: all societies only when there is none. */
function societyFilter(society: string | undefined): { societyCode?: string } {
  return society !== undefined ? { societyCode: society } : {};
}
