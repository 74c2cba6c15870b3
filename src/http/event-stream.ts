import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** One open `text/event-stream` answer (see `openEventStream`). */
export type EventStream = {
  /** Sends one event: `event: name`, `id:` when given, and `data` as one line of JSON. */
  send(event: string, data: unknown, id?: number): void;
  /** Ends the answer (the client's EventSource reconnects after its `retry`). */
  end(): void;
  /** Registers what to do once the answer has ended, whoever ended it. */
  onEnd(callback: () => void): void;
};

const open = new WeakMap<FastifyInstance, Set<EventStream>>();

/** How often a comment line is sent on a quiet stream, so proxies keep it open. */
const HEARTBEAT_MS = 15_000;

/**
 * Lets `fastify.close()` end the event streams still open. Without it, closing the server would
 * wait for every wall screen to hang up, which they never do: `preClose` runs before Fastify
 * waits for the requests in flight.
 */
export function installEventStreams(fastify: FastifyInstance): void {
  const streams = new Set<EventStream>();
  open.set(fastify, streams);
  fastify.addHook('preClose', (done) => {
    for (const stream of [...streams]) stream.end();
    done();
  });
}

/**
 * Takes the answer out of Fastify's hands (after the route's checks, so errors before it are
 * problem documents as usual) and starts a server-sent events stream on it. It ends when the
 * client goes, when `end` is called, or when the server closes.
 */
export function openEventStream(
  fastify: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { retryMs: number },
): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // A reverse proxy (nginx) would otherwise hold the events back in its buffer.
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  raw.write(`retry: ${options.retryMs}\n\n`);
  const callbacks: Array<() => void> = [];
  let ended = false;
  const heartbeat = setInterval(() => raw.write(': still here\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const finish = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    open.get(fastify)?.delete(stream);
    for (const callback of callbacks) callback();
  };
  const stream: EventStream = {
    send(event, data, id) {
      if (ended) return;
      raw.write(
        `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`,
      );
    },
    end() {
      if (ended) return;
      finish();
      raw.end();
    },
    onEnd(callback) {
      if (ended) callback();
      else callbacks.push(callback);
    },
  };
  open.get(fastify)?.add(stream);
  raw.on('close', finish);
  return stream;
}
