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
import type { Principal } from '../../shared/principal';
import { ApiProblem } from '../../shared/api-problem';
import { ApplicationDto, ApplicationPageDto } from './application.dto';
import { PageQueryDto, ReadQueryDto } from '../../http/query.dto';
import { ReadYourWrites } from '../../projections/read-your-writes';
import { ReadModels } from '../../projections/read-models';
import { findProgramme } from '../../programmes/queries/programmes.projection';
import { canSee, scopedSociety, societyFilter } from '../../auth/access';
import { APPLICATION_STATUSES, type ApplicationStatus } from '../domain/application';
import { applicationsProjection } from './applications.projection';

@ApiTags('applications')
@ApiBearerAuth()
@Controller('v1/applications')
export class ApplicationQueriesController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get(':applicationId')
  @Roles('applicant', 'participant', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: 'An application with its status and every eligibility rule with its reason',
  })
  @ApiResponse({ status: 200, type: ApplicationDto })
  async get(
    @Param('applicationId') applicationId: string,
    @Query() query: ReadQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    const doc = await this.readModels.get(applicationsProjection, applicationId);
    if (
      !doc ||
      !canSee(principal, { subjectRef: doc.subjectRef, sub: doc.applicantSub }, doc.societyCode)
    ) {
      throw new ApiProblem(404, 'APPLICATION_NOT_FOUND', `No application ${applicationId}.`);
    }
    return doc;
  }
}

export class ApplicationListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'B33' })
  @IsOptional()
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, { message: 'society must be a society code such as B33' })
  society?: string;

  @ApiPropertyOptional({ enum: APPLICATION_STATUSES })
  @IsOptional()
  @IsIn(APPLICATION_STATUSES)
  status?: ApplicationStatus;
}

/** `GET /v1/programmes/:programmeId/applications`: this slice's read model, listed. */
@ApiTags('applications')
@ApiBearerAuth()
@Controller('v1/programmes/:programmeId/applications')
export class ApplicationListController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @Roles('society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary: "Applications with their status and eligibility; staff see their own society's only",
  })
  @ApiResponse({ status: 200, type: ApplicationPageDto })
  async applications(
    @Param('programmeId') programmeId: string,
    @Query() query: ApplicationListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    await findProgramme(this.readModels, programmeId);
    const society = scopedSociety(principal, query.society);
    const page = await this.readModels.list(applicationsProjection, {
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
}
