import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../../auth/auth.guard';
import type { Principal } from '../../auth/principal';
import { ApiProblem } from '../../http/problem-details';
import { ProblemDocumentDto } from '../../http/openapi';
import { ReadQueryDto } from '../../participants/queries/participant-queries.controller';
import { ReadYourWrites } from '../../projections/projections.module';
import { ReadModels } from '../../projections/read-models';
import { canSee } from '../application-access';
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
  @ApiResponse({
    status: 404,
    type: ProblemDocumentDto,
    description: 'no such application, or not yours to see',
  })
  async get(
    @Param('applicationId') applicationId: string,
    @Query() query: ReadQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.readYourWrites.reach(query.minPosition);
    const doc = await this.readModels.get(applicationsProjection, applicationId);
    if (!doc || !canSee(principal, doc.applicantSub, doc.societyCode)) {
      throw new ApiProblem(404, 'APPLICATION_NOT_FOUND', `No application ${applicationId}.`);
    }
    return doc;
  }
}
