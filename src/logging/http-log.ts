import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';
import { type Level, stdSerializers, stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import type { LogLevelSetting } from '../config/app-config';
import { problemCodeOf } from '../http/problem-details';
import { correlationIdOf } from '../http/request-context';
import { STUDENT_ROLES } from '../stores/event-store.module';
import type { LogDestination } from './log-output';

/** Routes polled by machines (probes, scrapers): their successes are logged at debug only. */
const POLLED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * What the request line adds, known only once the request is answered: the route pattern, the
 * caller and the problem code of a refusal. Students are named by their pseudonym, as in the
 * event log (docs/privacy.md); staff by their `sub`.
 */
function answerFields(request: AuthenticatedRequest, res: ServerResponse): Record<string, unknown> {
  const principal = request.principal;
  const code = problemCodeOf(res);
  return {
    route: request.routeOptions.url ?? null,
    correlationId: correlationIdOf(request.raw),
    sub: principal
      ? STUDENT_ROLES.has(principal.role)
        ? (principal.subjectRef ?? null)
        : principal.sub
      : null,
    role: principal?.role ?? null,
    ...(code === undefined ? {} : { code }),
  };
}

/** The level of a request's line (docs/logging.md). */
function levelOf(request: AuthenticatedRequest, res: ServerResponse, error: unknown): Level {
  // A 503 is expected (a store down, a read model behind, a shutdown): a warning. Any other
  // 5xx is a bug, whose stack the problem filter logs.
  if (res.statusCode >= 500 && res.statusCode !== 503) return 'error';
  if (res.statusCode === 503 || error) return 'warn';
  const route = request.routeOptions.url;
  if (route !== undefined && POLLED_ROUTES.has(route) && res.statusCode < 400) return 'debug';
  return 'info';
}

/** The path of a request without its query string, which may carry a token or a search. */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The pino options of the service's logger (nestjs-pino builds it, through pino-http, as the one
 * logger of the process). Serializers build each object from a whitelist rather than redacting
 * a full copy, so headers (the bearer token, cookies), query strings and bodies never reach a
 * line, whatever a client sends.
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
  };
}

/**
 * One line per request, written once it is answered (or aborted), as pino-http wrote it from a
 * Nest middleware before: `reqId` and `req` (method, path), the answer's fields, `res`
 * (status) and `responseTime`, at the level `levelOf` says. Logs made while the request is
 * handled (the command line, the problem filter's) go through a child logger carrying its
 * `reqId`, bound to the request's async context by nestjs-pino's `runInContext`.
 *
 * Written with Fastify's own hook rather than as Nest middleware: Nest runs middleware through
 * @fastify/middie, whose per-request path matching and URL decoding, with Nest's wrappers around
 * each of the two middleware functions, cost as much as everything else a read does (measured:
 * CPU per progress read 509 -> 258 us with the middleware removed). The hook is registered
 * where middie's was, so the hooks after it run inside the request's logging context.
 */
export function installRequestLog(fastify: FastifyInstance, logger: PinoLogger): void {
  fastify.addHook('onRequest', (request: AuthenticatedRequest, reply, done) => {
    const started = Date.now();
    logger.runInContext(
      () => {
        // The request's child logger (reqId), as every log inside the request sees it.
        const log = logger.logger;
        // Nothing is written below error when the level is silent: no line to prepare.
        if (log.isLevelEnabled('error')) {
          const res = reply.raw;
          const finished = (error?: Error): void => {
            res.removeListener('close', finished);
            res.removeListener('finish', finished);
            res.removeListener('error', finished);
            writeRequestLine(log, request, res, Date.now() - started, error);
          };
          res.on('close', finished);
          res.on('finish', finished);
          res.on('error', finished);
        }
        done();
      },
      { bindings: { reqId: request.id } },
    );
  });
}

function writeRequestLine(
  log: PinoLogger['logger'],
  request: AuthenticatedRequest,
  res: ServerResponse,
  responseTime: number,
  error: Error | undefined,
): void {
  const level = levelOf(request, res, error);
  const line = { req: request.raw, ...answerFields(request, res), res, responseTime };
  // A 5xx's stack is logged by the problem filter, not here.
  if (error || res.statusCode >= 500) log[level](line, 'request errored');
  else
    log[level](
      line,
      !request.raw.readableAborted && res.writableEnded ? 'request completed' : 'request aborted',
    );
}
