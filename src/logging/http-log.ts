import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type LevelWithSilent, stdSerializers, stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import type { LogLevelSetting } from '../config/app-config';
import { problemCodeOf } from '../http/problem-details';
import { correlationIdOf } from '../http/request-context';
import { STUDENT_ROLES } from '../stores/event-store.module';
import type { LogDestination } from './log-output';

// pino-http sees Node's request; the route pattern and the caller are on Fastify's, which wraps it.
const fastifyRequests = new WeakMap<IncomingMessage, AuthenticatedRequest>();

/** Lets the request log find Fastify's request (route pattern, principal) from Node's. */
export function linkFastifyRequests(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    fastifyRequests.set(request.raw, request);
    done();
  });
}

/** Routes polled by machines (probes, scrapers): their successes are logged at debug only. */
const POLLED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * What the request line adds, known only once the request is answered: the route pattern, the
 * caller and the problem code of a refusal. Students are named by their pseudonym, as in the
 * event log (docs/privacy.md); staff by their `sub`.
 */
function answerFields(req: IncomingMessage, res: ServerResponse): Record<string, unknown> {
  const request = fastifyRequests.get(req);
  const principal = request?.principal;
  return {
    route: request?.routeOptions.url ?? null,
    correlationId: correlationIdOf(req),
    sub: principal
      ? STUDENT_ROLES.has(principal.role)
        ? (principal.subjectRef ?? null)
        : principal.sub
      : null,
    role: principal?.role ?? null,
    ...(problemCodeOf(res) === undefined ? {} : { code: problemCodeOf(res) }),
  };
}

/** The path of a request without its query string, which may carry a token or a search. */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The pino-http options of the service: one JSON line per request, with only the fields listed
 * here. Serializers build each object from a whitelist rather than redacting a full copy, so
 * headers (the bearer token, cookies), query strings and bodies never reach a line, whatever
 * a client sends.
 */
export function httpLogOptions(
  level: LogLevelSetting,
  stream: LogDestination,
): Options<IncomingMessage, ServerResponse> {
  return {
    level,
    stream,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage) => ({ method: req.method, path: pathOf(req) }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      err: stdSerializers.err,
    },
    // Logs made while a request is handled (the command line) carry its id, not its request.
    // The id is Fastify's request id (`requestIdOf`), which @fastify/middie hands to pino-http.
    quietReqLogger: true,
    customLogLevel: (req, res, error): LevelWithSilent => {
      // A 503 is expected (a store down, a read model behind, a shutdown): a warning. Any other
      // 5xx is a bug, whose stack the problem filter logs.
      if (res.statusCode >= 500 && res.statusCode !== 503) return 'error';
      if (res.statusCode === 503 || error) return 'warn';
      const route = fastifyRequests.get(req)?.routeOptions.url;
      if (route !== undefined && POLLED_ROUTES.has(route) && res.statusCode < 400) return 'debug';
      return 'info';
    },
    customSuccessObject: (req, res, value: object) => ({ ...answerFields(req, res), ...value }),
    // pino-http makes up an error for a 5xx ("failed with status code"), with its own stack: left
    // out, since the problem filter logs the real one.
    customErrorObject: (req, res, _error, value: { res: unknown; responseTime: number }) => ({
      ...answerFields(req, res),
      res: value.res,
      responseTime: value.responseTime,
    }),
  };
}
