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

  @ApiProperty({ type: 'integer', example: 409 })
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

/** Who caused an event (its metadata's `actor`): the audit log and the timeline both show it. */
export class ActorDto {
  @ApiProperty({ example: 'society_staff-1' }) sub!: string;
  @ApiProperty({ example: 'society_staff' }) role!: string;
}

export class PositionResultDto {
  @ApiProperty({
    type: 'integer',
    example: 42,
    nullable: true,
    description: 'global position of the last event appended; null when nothing changed',
  })
  position!: number | null;
}

export const ERROR_MEANING: Record<number, string> = {
  400: 'malformed JSON, unknown or missing fields, wrong types or formats (every bad field in `errors`)',
  401: 'no valid bearer token',
  403: 'this role may not do this',
  404: 'no such resource, or not yours to see',
  409: 'conflicts with current state (quota reached, already decided, stale If-Match, concurrent change), or its Idempotency-Key is still in flight',
  413: 'a body over 1 MiB',
  414: 'a path parameter over 100 characters',
  415: 'a body that is not application/json',
  422: 'a programme rule forbids it (deadline, eligibility, window, hours), or its Idempotency-Key was used with another body',
  429: 'over RATE_LIMIT_PER_MINUTE requests this minute (Retry-After)',
  500: 'a bug: logged with its stack; the answer says nothing more',
  503: 'a store does not answer, minPosition not reached within 5 s, or shutting down (Retry-After)',
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

/**
 * A page of a list (docs/API.md, "Queries"): `{items, nextCursor}`. Extend it with a named class
 * (`class ProgrammePageDto extends PageOf(ProgrammeDto) {}`) so clients get one type per list.
 */
export function PageOf<T>(item: Type<T>) {
  class Page {
    items!: T[];
    nextCursor!: string | null;
  }
  ApiProperty({ type: item, isArray: true })(Page.prototype, 'items');
  ApiProperty({
    type: String,
    nullable: true,
    description: 'pass as `cursor` for the next page; null on the last page',
    example: null,
  })(Page.prototype, 'nextCursor');
  Object.defineProperty(Page, 'name', { value: `PageOf${item.name}` });
  return Page as Type<{ items: T[]; nextCursor: string | null }>;
}

/** Set on objects holding personal data once the person is erased: those fields read `null`. */
export const erasedProperty = {
  required: false,
  type: Boolean,
  description: 'true once the person was erased: their personal fields here read null',
} as const;
