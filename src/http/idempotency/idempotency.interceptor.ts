import { createHash } from 'node:crypto';
import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { type Observable, from, lastValueFrom } from 'rxjs';
import type { AuthenticatedRequest } from '../../auth/auth.guard';
import { canonicalJson } from '../../event-sourcing';
import { ApiProblem } from '../../shared/api-problem';
import { ReplayedProblem, toProblem } from '../problem-details';
import { routeStatus } from '../request-timeout';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from './idempotency-store';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on commands: the same key with the same body returns the first answer
 * (status and body, marked `Idempotent-Replayed: true`) and runs nothing; the same key with
 * another body is 422; a key whose first request is still running is 409. Answers below 500
 * are remembered, errors included, so a retried refusal stays a refusal; a 5xx frees the key.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(@Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const header = request.headers['idempotency-key'];
    if (request.method !== 'POST' || header === undefined) return next.handle();
    return from(this.run(request, http.getResponse<FastifyReply>(), String(header), next));
  }

  private async run(
    request: AuthenticatedRequest,
    reply: FastifyReply,
    key: string,
    next: CallHandler,
  ): Promise<unknown> {
    if (!KEY.test(key))
      throw new ApiProblem(
        400,
        'INVALID_IDEMPOTENCY_KEY',
        'Idempotency-Key must be 1 to 255 visible ASCII characters.',
      );
    const scope = `${request.principal?.sub ?? 'anonymous'} ${request.method} ${request.url.split('?')[0]}`;
    const hash = createHash('sha256')
      .update(canonicalJson(request.body ?? null))
      .digest('hex');
    // Records of a data subject carry their pseudonym, so that erasing them deletes these too.
    const found = await this.store.begin(scope, key, hash, request.principal?.subjectRef);
    switch (found.state) {
      case 'mismatch':
        throw new ApiProblem(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different body; use a new key for a new request.',
        );
      case 'in_progress':
        throw new ApiProblem(
          409,
          'IDEMPOTENCY_IN_PROGRESS',
          'A request with this Idempotency-Key is still running; retry shortly.',
          { 'retry-after': '1' },
        );
      case 'done':
        void reply.header('idempotent-replayed', 'true');
        // A remembered refusal is thrown again, so the problem filter writes it as it was.
        if (found.status >= 400) throw new ReplayedProblem(found.status, found.body);
        void reply.status(found.status);
        return found.body;
      case 'new':
        break;
    }
    try {
      const body: unknown = await lastValueFrom(next.handle() as Observable<unknown>, {
        defaultValue: undefined,
      });
      // The command's own status, also when REQUEST_TIMEOUT_MS already answered 503 for it:
      // the client retries with this key and gets the outcome it did not see.
      await this.store.complete(scope, key, routeStatus(reply), body);
      return body;
    } catch (error) {
      const { document } = toProblem(error);
      if (document.status < 500) await this.store.complete(scope, key, document.status, document);
      // The store holding the keys may be the one that is down: the answer is the original
      // failure (503 when transient), not the failure to free the key.
      else await this.store.release(scope, key).catch(() => undefined);
      throw error;
    }
  }
}
