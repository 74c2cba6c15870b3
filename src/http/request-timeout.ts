import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblem } from '../shared/api-problem';
import { STORE_RETRY_AFTER_SECONDS, sendProblem } from './problem-details';

const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
// The status a route had set when the timeout answered in its place.
const statusAtTimeout = new WeakMap<FastifyReply, number>();

/**
 * Answers `503 REQUEST_TIMEOUT` (problem+json, Retry-After) to any request that has not been
 * answered `timeoutMs` after it arrived, whatever it waits on: a store that neither answers nor
 * fails, a lock, a slow disk. Nothing is cancelled: the handler runs on, and its own answer,
 * when it comes, is dropped. So a timed-out command is *unacknowledged*, not failed: its append
 * may still complete. The client learns which by retrying with the same Idempotency-Key, which
 * then returns the command's own answer (see `routeStatus`) rather than running it twice.
 */
export function installRequestTimeout(fastify: FastifyInstance, timeoutMs: number): void {
  const seconds = Math.round(timeoutMs / 100) / 10;
  fastify.addHook('onRequest', (request, reply, done) => {
    const timer = setTimeout(() => {
      timers.delete(request);
      if (reply.sent || reply.raw.headersSent) return;
      statusAtTimeout.set(reply, reply.statusCode);
      sendProblem(
        reply,
        new ApiProblem(
          503,
          'REQUEST_TIMEOUT',
          `The request did not finish within ${seconds} s. A command may still complete: retry it with the same Idempotency-Key to get its outcome without doing it twice.`,
          { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) },
        ),
      );
    }, timeoutMs);
    // A timer must not keep a closing process alive.
    timer.unref();
    timers.set(request, timer);
    done();
  });
  const clear = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
    clearTimeout(timers.get(request));
    timers.delete(request);
    done();
  };
  fastify.addHook('onResponse', clear);
  fastify.addHook('onRequestAbort', (request, done) => clear(request, undefined, done));
}

/**
 * The status the route answers with. Normally the reply's; after the timeout has answered 503
 * in the route's place, the status the route had set (or set since), so that what an
 * Idempotency-Key remembers is the command's own outcome, which a retry then gets.
 */
export function routeStatus(reply: FastifyReply): number {
  const before = statusAtTimeout.get(reply);
  return before !== undefined && reply.statusCode === 503 ? before : reply.statusCode;
}
