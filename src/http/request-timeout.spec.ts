import Fastify, { type FastifyReply } from 'fastify';
import { installRequestTimeout, routeStatus } from './request-timeout';

describe('installRequestTimeout', () => {
  it('answers 503 REQUEST_TIMEOUT to a request still running, and the route still learns its own status', async () => {
    const fastify = Fastify();
    installRequestTimeout(fastify, 200);
    let finish!: () => void;
    const handlerDone = new Promise<number>((resolve) => {
      fastify.post('/slow', async (_request, reply: FastifyReply) => {
        void reply.status(201);
        await new Promise<void>((release) => (finish = release));
        resolve(routeStatus(reply));
        return { done: true };
      });
    });
    fastify.get('/fast', () => ({ ok: true }));

    const response = await fastify.inject({ method: 'POST', url: '/slow' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({
      status: 503,
      code: 'REQUEST_TIMEOUT',
      detail: expect.stringContaining('retry it with the same Idempotency-Key'),
    });

    // The handler was not cancelled: it completes, and sees 201, not the 503 sent for it.
    finish();
    await expect(handlerDone).resolves.toBe(201);

    // A request that answers in time is untouched.
    const fast = await fastify.inject({ method: 'GET', url: '/fast' });
    expect(fast.statusCode).toBe(200);
    expect(fast.json()).toEqual({ ok: true });
    await fastify.close();
  });
});
