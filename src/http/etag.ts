import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  createParamDecorator,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Observable, map } from 'rxjs';
import { ApiProblem } from '../shared/api-problem';

/**
 * Optimistic concurrency over HTTP, for every slice whose commands act on one stream: the
 * stream's revision is the `ETag`, and `If-Match` sends back the revision a client decided on.
 */

/** `If-Match` as the stream revision it names (undefined without one); 400 for anything else. */
export const IfMatch = createParamDecorator(
  (_data: unknown, context: ExecutionContext): number | undefined =>
    parseIfMatch(context.switchToHttp().getRequest<FastifyRequest>().headers['if-match']),
);

function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header.trim());
  if (!match)
    throw new ApiProblem(
      400,
      'INVALID_IF_MATCH',
      'If-Match must be an ETag this API gave, such as "3".',
    );
  return Number(match[1]);
}

/**
 * A command handler's `revision` (the stream's revision after the command) becomes the `ETag`
 * header and leaves the body, which keeps docs/API.md's `{..., position}` shape.
 */
@Injectable()
export class StreamRevisionEtag implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map((result: unknown) => {
        if (result === null || typeof result !== 'object' || !('revision' in result)) return result;
        const { revision, ...body } = result;
        if (typeof revision === 'number') void reply.header('etag', `"${revision}"`);
        return body;
      }),
    );
  }
}
