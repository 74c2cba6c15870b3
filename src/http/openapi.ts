import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiHeader,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'hours' })
  field!: string;

  @ApiProperty({ example: 'hours must not be less than 0.01' })
  message!: string;
}

/** RFC 9457 problem document: every error of this API. */
export class ProblemDocumentDto {
  @ApiProperty({ example: '/problems/quota-reached' })
  type!: string;

  @ApiProperty({ example: 'Conflict' })
  title!: string;

  @ApiProperty({ example: 409 })
  status!: number;

  @ApiProperty({
    example:
      'Society B33 already has 3 live recommendations for cast-dtdp-2025; withdraw one to recommend another.',
  })
  detail!: string;

  @ApiProperty({ example: 'QUOTA_REACHED', description: 'stable machine-readable code' })
  code!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'with 400: every bad field' })
  errors?: FieldErrorDto[];
}

export class PositionResultDto {
  @ApiProperty({
    example: 42,
    nullable: true,
    description: 'global position of the last event appended; null when nothing changed',
  })
  position!: number | null;
}

const ERROR_MEANING: Record<number, string> = {
  400: 'malformed JSON, unknown or missing fields, wrong types or formats (every bad field in `errors`)',
  401: 'no valid bearer token',
  403: 'this role may not do this',
  404: 'no such resource, or not yours to see',
  409: 'conflicts with current state (quota reached, already decided, stale If-Match, concurrent change)',
  422: 'a programme rule forbids it (deadline, eligibility, window, hours)',
};

/** Documents a command: its success answer, the Idempotency-Key header and its problem responses. */
export function ApiCommand(options: {
  status: 200 | 201;
  type: Type<unknown>;
  errors: number[];
  description?: string;
}) {
  return applyDecorators(
    ApiExtraModels(ProblemDocumentDto),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'same key and body: the first answer again, nothing appended',
    }),
    ApiResponse({
      status: options.status,
      type: options.type,
      description: options.description ?? 'done',
    }),
    ...[401, ...options.errors].map((status) =>
      ApiResponse({
        status,
        description: ERROR_MEANING[status] ?? 'error',
        content: {
          'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDocumentDto) } },
        },
      }),
    ),
  );
}
