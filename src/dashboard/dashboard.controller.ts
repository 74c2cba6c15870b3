import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { scopedSociety } from '../auth/access';
import { CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../shared/principal';
import { AppConfig } from '../config/app-config';
import { ReadQueryDto } from '../http/query.dto';
import { ReadModels } from '../projections/read-models';
import { applicationsProjection } from '../applications/queries/applications.projection';
import { progressProjection } from '../participants/queries/progress.projection';
import { findProgramme } from '../programmes/queries/programmes.projection';
import { ReadYourWrites } from '../projections/read-your-writes';
import { Clock } from '../shared/clock';
import { DashboardCache, quarterHourOf } from './dashboard-cache';
import { dashboardFigures } from './dashboard.query';
import { DashboardDto } from './dashboard.dto';

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
  @ApiResponse({ status: 200, type: DashboardDto })
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
    return this.dashboards.get(key, () =>
      dashboardFigures(this.readModels, programme, society, minGroup, this.clock.now()),
    );
  }
}
