import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { type CommandContext, commandContext } from '../shared/command-context';
import { ApiProblem } from '../shared/api-problem';

// A client-chosen id is taken only in this form: short, with no spaces, quotes or markup, so it
// can go into a log line or an event's metadata as it is.
const CLIENT_ID = /^[\w.:-]{1,100}$/;

function clientId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && CLIENT_ID.test(header) ? header : undefined;
}

const requestIds = new WeakMap<IncomingMessage, string>();

/**
 * The id of a request: the client's `X-Request-Id` when it is in the accepted form, otherwise a
 * new UUID; the same answer each time it is asked for the same request.
 */
export function requestIdOf(request: IncomingMessage): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    id = clientId(request.headers['x-request-id']) ?? randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

/**
 * Echoes each request's id (Fastify's, from `requestIdOf`) in an `X-Request-Id` response
 * header, so a client can quote the id the logs know its request by.
 */
export function echoRequestIds(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
}

/**
 * The correlation id of a request: the client's `X-Correlation-Id` when it is in the accepted
 * form, otherwise the request id, so the events a request appends and its log lines share an id.
 */
export function correlationIdOf(request: IncomingMessage): string {
  return clientId(request.headers['x-correlation-id']) ?? requestIdOf(request);
}

/** The command context of a request: the caller, a correlation id and the clock, read once. */
export const RequestContext = createParamDecorator(
  (_data: unknown, execution: ExecutionContext): CommandContext => {
    const request = execution.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!request.principal)
      throw new ApiProblem(401, 'UNAUTHENTICATED', 'A bearer token is required.');
    return commandContext(request.principal, correlationIdOf(request.raw), request.receivedAt);
  },
);
