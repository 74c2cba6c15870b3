import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { InvalidTokenError } from '../auth/tokens';
import {
  CommandQueueTimeoutError,
  EventStoreError,
  StaleRevisionError,
  SubjectMissingError,
} from '../event-sourcing';
import { InvalidCursorError } from '../projections/read-model-store';
import { ApiProblem } from '../shared/api-problem';
import { DomainError } from '../shared/domain/domain-error';
import { failureKind, isDiskFailure } from '../shared/transient';

/** One bad field of a request. */
export type FieldError = { readonly field: string; readonly message: string };

/** An RFC 9457 problem document, as every error response of the API. */
export type ProblemDocument = {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Stable code, e.g. `QUOTA_REACHED`. */
  readonly code: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
};

/** A request that failed validation: carries every bad field. */
export class RequestValidationError extends Error {
  constructor(readonly errors: readonly FieldError[]) {
    super(
      `${errors.length} field${errors.length === 1 ? ' is' : 's are'} invalid: ${errors.map((e) => e.field).join(', ')}.`,
    );
  }
}

/** A refusal answered before under the same Idempotency-Key, sent again as it was. */
export class ReplayedProblem extends Error {
  constructor(
    readonly status: number,
    readonly document: unknown,
  ) {
    super('replayed');
  }
}

/** Flattens class-validator's tree into `field: message` pairs, one per broken constraint. */
export function flattenValidationErrors(
  errors: readonly ValidationError[],
  parent = '',
): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent
      ? /^\d+$/.test(error.property)
        ? `${parent}[${error.property}]`
        : `${parent}.${error.property}`
      : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  412: 'Precondition failed',
  413: 'Content too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  428: 'Precondition required',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};
const STATUS_BY_KIND: Record<DomainError['kind'], number> = {
  not_found: 404,
  conflict: 409,
  rule: 422,
  invalid: 400,
};

function problem(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): ProblemDocument {
  // Extensions first, so none can overwrite a standard member.
  return {
    ...extra,
    type: `/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
  };
}

/** Seconds a client is asked to wait before resending a command that waited too long for its turn. */
const QUEUE_RETRY_AFTER_SECONDS = 1;

/** Seconds a client is asked to wait (`Retry-After`) before retrying after a store failure. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * The answer to a store that cannot serve the request for now (the database is down or
 * restarting, a lock timed out, the disk is full or read-only): 503 with Retry-After. The detail
 * never repeats the driver's message, which names hosts, databases and file paths.
 */
function storeUnavailable(exception: unknown): {
  document: ProblemDocument;
  headers: Record<string, string>;
} {
  const headers = { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) };
  if (isDiskFailure(exception)) {
    return {
      document: problem(
        503,
        'STORE_NOT_WRITABLE',
        'The embedded store cannot write (disk full or read-only): free space in DATA_DIR or make it writable, then try again. The command was not recorded; reads still work.',
      ),
      headers,
    };
  }
  return {
    document: problem(
      503,
      'STORE_UNAVAILABLE',
      'The event store is unavailable; try again shortly.',
    ),
    headers,
  };
}

/** Maps anything thrown to a problem document (and the headers it needs). */
export function toProblem(exception: unknown): {
  document: ProblemDocument;
  headers: Record<string, string>;
} {
  if (exception instanceof ReplayedProblem) {
    return { document: exception.document as ProblemDocument, headers: {} };
  }
  if (exception instanceof RequestValidationError) {
    return {
      document: problem(400, 'VALIDATION_FAILED', exception.message, { errors: exception.errors }),
      headers: {},
    };
  }
  if (exception instanceof ApiProblem) {
    return {
      document: problem(exception.status, exception.code, exception.message, {
        ...exception.extensions,
      }),
      headers: { ...exception.headers },
    };
  }
  if (exception instanceof DomainError) {
    return {
      document: problem(STATUS_BY_KIND[exception.kind], exception.code, exception.message, {
        ...exception.details,
      }),
      headers: {},
    };
  }
  if (exception instanceof SubjectMissingError) {
    // A record from before personal data was sealed: the log needs its migration first.
    return { document: problem(409, 'MIGRATION_REQUIRED', exception.message), headers: {} };
  }
  if (exception instanceof InvalidCursorError) {
    return { document: problem(400, 'INVALID_CURSOR', exception.message), headers: {} };
  }
  if (exception instanceof InvalidTokenError) {
    return {
      document: problem(401, 'UNAUTHENTICATED', exception.message),
      headers: { 'www-authenticate': 'Bearer' },
    };
  }
  if (exception instanceof StaleRevisionError) {
    // The new ETag comes with the refusal, so the client can read again and resend.
    return {
      document: problem(409, exception.code, exception.message),
      headers: { etag: `"${exception.actual}"` },
    };
  }
  if (exception instanceof CommandQueueTimeoutError) {
    // Nothing was decided: the same request, sent again shortly, is decided afresh.
    return {
      document: problem(503, exception.code, exception.message),
      headers: { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) },
    };
  }
  if (exception instanceof EventStoreError) {
    const conflictCodes = ['WRONG_EXPECTED_REVISION', 'CONCURRENCY_CONFLICT', 'DUPLICATE_EVENT_ID'];
    const status = conflictCodes.includes(exception.code)
      ? 409
      : exception.code === 'STREAM_NOT_FOUND'
        ? 404
        : 400;
    return { document: problem(status, exception.code, exception.message), headers: {} };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    // Only a string or a `message` member is copied: @nestjs/terminus puts every check's error
    // text (hosts, databases) into its exception, which the health controller alone may show.
    const message =
      typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const detail = Array.isArray(message)
      ? message.join('; ')
      : typeof message === 'string'
        ? message
        : exception.message;
    const code = status === 404 ? 'NOT_FOUND' : status === 400 ? 'BAD_REQUEST' : `HTTP_${status}`;
    return { document: problem(status, code, detail), headers: {} };
  }
  // A driver's error (pg, better-sqlite3, the EventStoreDB client) that a later retry can get
  // past: the client should retry, not report a bug.
  if (failureKind(exception) === 'transient') return storeUnavailable(exception);
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    // Fastify's own refusals before a handler runs: malformed JSON, wrong content type, too large.
    const code =
      fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'UNSUPPORTED_MEDIA_TYPE'
        : 'MALFORMED_REQUEST';
    return {
      document: problem(
        fastifyError.statusCode,
        code,
        fastifyError.message ?? 'The request could not be read.',
      ),
      headers: {},
    };
  }
  return {
    document: problem(
      500,
      'INTERNAL_ERROR',
      'Something went wrong on our side; it has been logged.',
    ),
    headers: {},
  };
}

/**
 * Writes every error as `application/problem+json` (RFC 9457), and logs what an operator must act
 * on. The request log line already records every answer with its status and problem code, so a
 * refusal (4xx) or an expected 503 (not yet projected, timed out, shutting down) is not logged
 * again here, and never with a stack: only a 5xx that is a bug is, at error level.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const document = sendProblem(host.switchToHttp().getResponse<FastifyReply>(), exception);
    if (document.code === 'STORE_UNAVAILABLE' || document.code === 'STORE_NOT_WRITABLE') {
      // Expected while a store is down: one line for the operator (the driver's message names
      // the host or file), not a stack per request.
      this.logger.warn(`${document.code}: ${errorMessage(exception)}`);
    } else if (document.status >= 500 && document.status !== 503) {
      this.logger.error(exception instanceof Error ? exception : new Error(String(exception)));
    }
  }
}

function errorMessage(exception: unknown): string {
  if (!(exception instanceof Error)) return String(exception);
  const code = (exception as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${exception.message}` : exception.message;
}

// The code of the problem each response answered, for the request log (which sees only the
// Node response): the status alone does not tell "not yet projected" from "store down".
const problemCodes = new WeakMap<object, string>();

/** The `code` of the problem document a response carried, if it carried one. */
export function problemCodeOf(response: object): string | undefined {
  return problemCodes.get(response);
}

/**
 * Answers `exception` as a problem document. Also Fastify's `frameworkErrors` handler: its
 * router refuses a malformed percent-escape or an over-long parameter before any route runs.
 */
export function sendProblem(reply: FastifyReply, exception: unknown): ProblemDocument {
  const { document, headers } = toProblem(exception);
  problemCodes.set(reply.raw, document.code);
  void reply
    .status(document.status)
    .headers(headers)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(document);
  return document;
}
