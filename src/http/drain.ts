import type { FastifyInstance } from 'fastify';
import { ApiProblem } from '../shared/api-problem';
import { STORE_RETRY_AFTER_SECONDS, sendProblem } from './problem-details';

const draining = new WeakSet<FastifyInstance>();

/**
 * What the HTTP side does while the service shuts down (see `drainHttp`): a request that
 * arrives on a connection still open is answered `503 SHUTTING_DOWN` (problem+json, Retry-After,
 * so a client or load balancer sends it to another instance), and every response, including
 * those of requests already running, carries `Connection: close`. Without that, closing the
 * server would wait for each kept-alive connection to time out (Fastify keeps them 72 s), not
 * just for the requests in flight.
 */
export function installDrain(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (!draining.has(fastify)) {
      done();
      return;
    }
    void reply.header('connection', 'close');
    sendProblem(
      reply,
      new ApiProblem(503, 'SHUTTING_DOWN', 'The service is shutting down; retry shortly.', {
        'retry-after': String(STORE_RETRY_AFTER_SECONDS),
      }),
    );
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (draining.has(fastify)) void reply.header('connection', 'close');
    done(null, payload);
  });
}

/**
 * Stops accepting connections and resolves once every request in flight has been answered
 * (unbounded here: the caller bounds the whole shutdown). Closing Fastify again later, as Nest's
 * `app.close()` does, is harmless.
 */
export async function drainHttp(fastify: FastifyInstance): Promise<void> {
  draining.add(fastify);
  await fastify.close();
}
