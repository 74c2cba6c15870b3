import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { scopedSociety, societyFilter } from '../auth/access';
import { CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../shared/principal';
import { AppConfig } from '../config/app-config';
import { ReadQueryDto } from '../http/query.dto';
import { PILLARS, type ProgrammeRules } from '../programmes/domain/programme';
import { ReadModels } from '../projections/read-models';
import { applicationsProjection } from '../applications/queries/applications.projection';
import { progressProjection, progressViews } from '../participants/queries/progress.projection';
import { findProgramme } from '../programmes/queries/programmes.projection';
import { ReadYourWrites } from '../projections/read-your-writes';
import { Clock } from '../shared/clock';
import { DashboardCache, quarterHourOf } from './dashboard-cache';

export class DashboardQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ example: 'B33', description: 'one society; all of them when absent' })
  @IsOptional()
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, { message: 'society must be a society code such as B33' })
  society?: string;
}

/** `GET /v1/programmes/:programmeId/dashboard`: aggregates over the applications and progress. */
@ApiTags('dashboard')
@ApiBearerAuth()
@Controller('v1/programmes/:programmeId/dashboard')
export class DashboardController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(DashboardCache) private readonly dashboards: DashboardCache,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  @Get()
  @Roles('dashboard', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({ summary: 'Aggregates for one society or all of them: no names, no free text' })
  async dashboard(
    @Param('programmeId') programmeId: string,
    @Query() query: DashboardQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    const programme = await findProgramme(this.readModels, programmeId);
    const society = scopedSociety(principal, query.society);
    // Only the dashboard role (wall screens, the widest audience) gets small cells suppressed;
    // staff and admins, who may see the people themselves, get exact figures. A minimum group
    // of 1 suppresses nothing.
    const minGroup = principal.role === 'dashboard' ? this.config.DASHBOARD_MIN_GROUP : 1;
    // Same read models at the same checkpoints, same quarter-hour, same suppression: same
    // answer. The minimum group is part of the key, so an exact answer computed for staff is
    // never served to the dashboard role.
    const [applied, progressed] = await Promise.all([
      this.readModels.activeGeneration(applicationsProjection),
      this.readModels.activeGeneration(progressProjection),
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
  private async aggregate(
    programme: ProgrammeRules,
    society: string | undefined,
    minGroup: number,
  ) {
    const programmeId = programme.programmeId;
    const applications = await this.readModels.indexes(applicationsProjection, {
      programmeId,
      ...societyFilter(society),
    });
    const progress = await progressViews(this.readModels, programmeId, society, this.clock.now());
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
}
