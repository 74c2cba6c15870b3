import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProgrammeDto, ProgrammePageDto } from '../commands/define-programme.dto';
import { PageQueryDto, ReadQueryDto } from '../../http/query.dto';
import { ReadModels } from '../../projections/read-models';
import { ReadYourWrites } from '../../projections/read-your-writes';
import { findProgramme, programmesProjection } from './programmes.projection';

/** Programmes and their rules, from the programmes read model. */
@ApiTags('programmes')
@ApiBearerAuth()
@Controller('v1/programmes')
export class ProgrammeQueriesController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every programme and its rules (any role)' })
  @ApiResponse({ status: 200, type: ProgrammePageDto })
  async list(@Query() query: PageQueryDto) {
    await this.readYourWrites.reach(query.minPosition);
    return this.readModels.list(programmesProjection, {
      where: {},
      orderBy: 'key',
      limit: query.limit ?? 50,
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
  }

  @Get(':programmeId')
  @ApiOperation({ summary: "A programme's rules (any role)" })
  @ApiResponse({ status: 200, type: ProgrammeDto })
  async get(@Param('programmeId') programmeId: string, @Query() query: ReadQueryDto) {
    await this.readYourWrites.reach(query.minPosition);
    return findProgramme(this.readModels, programmeId);
  }
}
