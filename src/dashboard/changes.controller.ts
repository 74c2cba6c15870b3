import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scopedSociety } from '../auth/access';
import { CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../shared/principal';
import { openEventStream } from '../http/event-stream';
import { ProjectionRunner } from '../projections/projection-runner';
import { ReadYourWrites } from '../projections/read-your-writes';
import { ReadModels } from '../projections/read-models';
import { findProgramme } from '../programmes/queries/programmes.projection';
import { DashboardQueryDto } from './dashboard.controller';

/** The JSON answer: the read models' position now. */
export class ChangesPositionDto {
  @ApiProperty({ example: 'cast-dtdp-2025' }) programmeId!: string;
  @ApiProperty({ type: String, nullable: true, example: 'B33', description: 'null: all societies' })
  society!: string | null;
  @ApiProperty({
    type: 'integer',
    example: 1042,
    description: 'the global position the read models have applied',
  })
  position!: number;
}

/**
 * Several positions reached within this many milliseconds go out as one event: a burst of
 * commands (a seed, a rebuild) makes one refetch on each page, not hundreds.
 */
const COALESCE_MS = 100;

/**
 * `GET /v1/programmes/:programmeId/changes`: the read models' position, each time it moves, as
 * server-sent events (`event: position`, `data: {"position": N}`), so a page refetches what it
 * shows with `?minPosition=N` instead of polling every figure. Scoped like the dashboard: the
 * same roles, staff to their own society, 404 for an unknown programme, all decided (and
 * answered as problem documents) before the stream starts. The position is the log's, shared by
 * every society: it says that something may have changed, never what or for whom.
 *
 * A client that does not ask for `text/event-stream` gets the current position once, as JSON
 * (`{programmeId, society, position}`): the same answer a script or a check can read without
 * holding a connection open.
 */
@ApiTags('dashboard')
@ApiBearerAuth()
@Controller('v1/programmes/:programmeId/changes')
export class ChangesController {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get()
  @Roles('dashboard', 'society_staff', 'programme_admin', 'auditor')
  @ApiOperation({
    summary:
      "The read models' new position, as server-sent events (Accept: text/event-stream), or once as JSON",
  })
  @ApiExtraModels(ChangesPositionDto)
  @ApiOkResponse({
    description:
      'With Accept: text/event-stream, `event: position` with `id: N` and `data: {"position": N}`: the current one at once, then each new one; otherwise the current position once, as JSON',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          example: 'event: position\nid: 1042\ndata: {"position":1042}\n\n',
        },
      },
      'application/json': { schema: { $ref: getSchemaPath(ChangesPositionDto) } },
    },
  })
  async changes(
    @Param('programmeId') programmeId: string,
    @Query() query: DashboardQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.readYourWrites.reach(query.minPosition);
    await findProgramme(this.readModels, programmeId);
    const society = scopedSociety(principal, query.society) ?? null;
    if (!/text\/event-stream/.test(request.headers.accept ?? '')) {
      await reply
        .header('cache-control', 'no-store')
        .send({ programmeId, society, position: this.runner.position });
      return;
    }
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const stream = openEventStream(fastify, request, reply, { retryMs: 1000 });
    let sent = -1;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      const position = this.runner.position;
      if (position === sent) return;
      sent = position;
      stream.send('position', { position }, position);
    };
    flush();
    const stop = this.runner.onAdvance(() => {
      timer ??= setTimeout(flush, COALESCE_MS);
    });
    stream.onEnd(() => {
      stop();
      clearTimeout(timer);
    });
  }
}
