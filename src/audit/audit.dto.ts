import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ActorDto } from '../http/openapi';

const integer = (example: number, description?: string) =>
  ({ type: 'integer', example, ...(description ? { description } : {}) }) as const;
const nullableInteger = (example: number, description: string) =>
  ({ type: 'integer', nullable: true, example, description }) as const;

class EventMetadataDto {
  @ApiProperty({ type: ActorDto }) actor!: ActorDto;
  @ApiProperty({ example: '0b9e2c7a-4f1d-4c7e-9a3b-2d5e6f7a8b9c' }) correlationId!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) causationId!: string | null;
  @ApiProperty(integer(1, "version of the data's schema (current on read)"))
  schemaVersion!: number;
}

/** An event as the log holds it, with its hash chain (event.ts, `RecordedEvent`). */
export class RecordedEventDto {
  @ApiProperty({ example: '019ac5f2-1c3e-7a4b-9d2e-5f6a7b8c9d0e' }) eventId!: string;
  @ApiProperty({ example: 'ActivityVerified' }) type!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'the facts, in the current schema version (personal fields null once erased)',
  })
  data!: Record<string, unknown>;
  @ApiProperty({ type: EventMetadataDto }) metadata!: EventMetadataDto;
  @ApiProperty({ example: 'participant-019ac5f2-7d1e-7c3a-8e4f-0a1b2c3d4e5f' }) streamName!: string;
  @ApiProperty(integer(3, 'zero-based number within the stream')) revision!: number;
  @ApiProperty(integer(118, 'place in the global log')) position!: number;
  @ApiProperty({ example: '2026-09-03T01:12:00.000Z' }) recordedAt!: string;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'null for the first' })
  prevHash!: string | null;
  @ApiProperty({ example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' })
  hash!: string;
}

export class StreamPageDto {
  @ApiProperty({ example: 'programme-cast-dtdp-2025' }) streamName!: string;
  @ApiProperty({ type: [RecordedEventDto] }) items!: RecordedEventDto[];
  @ApiProperty(nullableInteger(1000, 'the first revision of the next page; null on the last'))
  nextRevision!: number | null;
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor!: string | null;
}

export class LogPageDto {
  @ApiProperty({ type: [RecordedEventDto] }) items!: RecordedEventDto[];
  @ApiProperty(nullableInteger(101, 'the first position of the next page; null on the last'))
  nextPosition!: number | null;
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor!: string | null;
}

const STATUSES = ['running', 'passed', 'failed'];

export class VerificationStartedDto {
  @ApiProperty({ example: 'b5c1f0e2-3a4d-4e5f-8a9b-0c1d2e3f4a5b' }) id!: string;
  @ApiProperty({ enum: STATUSES }) status!: string;
}

class VerificationProgressDto {
  @ApiProperty(integer(240)) done!: number;
  @ApiProperty(integer(480)) total!: number;
}

/** One mismatch, or why the job stopped: `log` (a hash chain), `readModels`, or `job`. */
class VerificationFindingDto {
  @ApiProperty({ enum: ['log', 'readModels', 'job'] }) source!: string;
  @ApiProperty({ example: 'hash does not match the event' }) problem!: string;
  @ApiPropertyOptional({ description: 'log' }) streamName?: string;
  @ApiPropertyOptional({ type: 'integer', nullable: true, description: 'log' })
  revision?: number | null;
  @ApiPropertyOptional({ type: 'integer', nullable: true, description: 'log' })
  position?: number | null;
  @ApiPropertyOptional({ description: 'readModels' }) projection?: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'readModels: the row' })
  key?: string | null;
}

class ReadModelCheckedDto {
  @ApiProperty({ example: 'progress' }) name!: string;
  @ApiProperty(integer(480)) position!: number;
  @ApiProperty(integer(35)) documents!: number;
}

class VerificationCheckedDto {
  @ApiProperty(integer(480)) events!: number;
  @ApiProperty(integer(61)) streams!: number;
  @ApiProperty(integer(480)) position!: number;
  @ApiProperty() headsChecked!: boolean;
  @ApiProperty({ type: [ReadModelCheckedDto] }) readModels!: ReadModelCheckedDto[];
}

export class VerificationJobDto extends VerificationStartedDto {
  @ApiProperty({ example: '2026-09-03T01:12:00.000Z' }) startedAt!: string;
  @ApiPropertyOptional({ example: '2026-09-03T01:12:04.000Z' }) finishedAt?: string;
  @ApiProperty({ type: VerificationProgressDto }) progress!: VerificationProgressDto;
  @ApiProperty({ type: [VerificationFindingDto] }) findings!: VerificationFindingDto[];
  @ApiPropertyOptional({ type: VerificationCheckedDto, description: 'once finished' })
  checked?: VerificationCheckedDto;
}
