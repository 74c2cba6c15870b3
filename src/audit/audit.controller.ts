import {
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { IdempotencyInterceptor } from '../http/idempotency/idempotency.interceptor';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import type { FastifyReply } from 'fastify';
import { IsInt, IsOptional, Max, MaxLength, Min } from 'class-validator';
import { Roles } from '../auth/auth.guard';
import type { EventStore } from '../event-sourcing';
import { ApiProblem } from '../shared/api-problem';
import { LogPageDto, StreamPageDto, VerificationJobDto, VerificationStartedDto } from './audit.dto';
import { IsText } from '../http/validators';
import { ReadQueryDto } from '../http/query.dto';
import { ReadYourWrites } from '../projections/read-your-writes';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../projections/read-model-store';
import { EVENT_STORE } from '../event-sourcing';
import { VerificationJobs, type VerificationJobView } from './verification-jobs';

export class StreamPageQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ default: 0, description: 'first revision to return' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  fromRevision?: number;

  @ApiPropertyOptional({ default: 1000, maximum: 5000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (instead of FROM)' })
  @IsOptional()
  @IsText()
  @MaxLength(200)
  cursor?: string;
}

export class LogPageQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ default: 1, description: 'first global position to return' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  fromPosition?: number;

  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (instead of FROM)' })
  @IsOptional()
  @IsText()
  @MaxLength(200)
  cursor?: string;
}

/**
 * The record for auditors: streams and the log with their hashes, each event in its type's
 * current shape (the form the hashes cover is `export --sealed`); verification.
 */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit')
export class AuditController {
  constructor(
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
    @Inject(VerificationJobs) private readonly jobs: VerificationJobs,
  ) {}

  @Get('streams/:streamName')
  @ApiOperation({
    summary:
      'Every event of one stream: data (in its current schema version), metadata, revision, position, recordedAt, prevHash, hash (paged by revision)',
  })
  @ApiResponse({ status: 200, type: StreamPageDto })
  async stream(@Param('streamName') streamName: string, @Query() query: StreamPageQueryDto) {
    await this.readYourWrites.logHolds(query.minPosition);
    const limit = query.limit ?? 1000;
    const events = await this.events.readStream(streamName, {
      fromRevision:
        query.cursor !== undefined ? positionIn(query.cursor) : (query.fromRevision ?? 0),
      maxCount: limit + 1,
    });
    const page = events.slice(0, limit);
    const next = events.length > limit ? page[page.length - 1]!.revision + 1 : null;
    // `items`, like every other list of the API, so one client helper pages them all.
    return {
      streamName,
      items: page,
      nextRevision: next,
      nextCursor: next === null ? null : encodeCursor(next, ''),
    };
  }

  @Get('events')
  @ApiOperation({ summary: 'The global log in position order, with hashes (paged by position)' })
  @ApiResponse({ status: 200, type: LogPageDto })
  async log(@Query() query: LogPageQueryDto) {
    await this.readYourWrites.logHolds(query.minPosition);
    const limit = query.limit ?? 100;
    const from = query.cursor !== undefined ? positionIn(query.cursor) : (query.fromPosition ?? 1);
    const items = await this.events.readAll(from - 1, limit);
    const next = items.length === limit ? items[items.length - 1]!.position + 1 : null;
    return {
      items,
      nextPosition: next,
      nextCursor: next === null ? null : encodeCursor(next, ''),
    };
  }

  @Post('verifications')
  @UseInterceptors(IdempotencyInterceptor)
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Starts a verification job: recomputes every event's hash and every stream's chain and head, and compares every read model with a fresh replay. Changes nothing served. 202 with Location; 409 (with runningId) while one runs.",
  })
  @ApiResponse({
    status: 202,
    type: VerificationStartedDto,
    headers: { Location: { description: 'where to follow it', schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 409, description: 'one is running already (the problem names runningId)' })
  async startVerification(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ id: string; status: VerificationJobView['status'] }> {
    const job = await this.jobs.start();
    void reply.header('location', `/v1/audit/verifications/${job.id}`);
    return { id: job.id, status: job.status };
  }

  @Get('verifications/:id')
  @ApiOperation({
    summary:
      'A verification job: status (running, passed, failed), progress {done, total}, and its findings (each mismatch, or why the job stopped)',
  })
  @ApiResponse({ status: 200, type: VerificationJobDto })
  @ApiResponse({ status: 404, description: 'no such job (kept: the running one and the last 20)' })
  async verification(
    @Param('id') id: string,
    @Query() query: ReadQueryDto,
  ): Promise<VerificationJobView> {
    await this.readYourWrites.logHolds(query.minPosition);
    const job = await this.jobs.get(id);
    if (!job)
      throw new ApiProblem(
        404,
        'VERIFICATION_NOT_FOUND',
        `No verification ${id}: the service keeps the running one and the last 20 finished ones (on one instance with SQLite read models, until it restarts).`,
      );
    return job;
  }
}

// The audit lists page by revision or position; their cursor carries the next one.
function positionIn(cursor: string): number {
  const [value, key] = decodeCursor(cursor);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || key !== '')
    throw new InvalidCursorError();
  return value;
}
