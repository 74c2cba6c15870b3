import { type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { LoggingModule } from './logging/logging.module';
import { installRequestLog } from './logging/http-log';
import { type LogDestination, standardOutput, useLogOutput } from './logging/log-output';
import { installJsonBodyParser, installParameterCheck } from './http/input-boundary';
import { Metrics } from './metrics/metrics';
import type { AppConfig } from './config/app-config';
import type { Clock } from './shared/clock';
import {
  ProblemDetailsFilter,
  RequestValidationError,
  flattenValidationErrors,
  sendProblem,
} from './http/problem-details';
import { limitRequestRate } from './http/rate-limit';
import { installRequestTimeout } from './http/request-timeout';
import { echoRequestIds, requestIdOf } from './http/request-context';
import { installDrain } from './http/drain';
import { installUnsealing } from './http/unseal';
import { PersonalDataVault } from './event-sourcing';
import { installEventStreams } from './http/event-stream';
import { CachingValidationPipe } from './http/validation-pipe';
import { ProblemDocumentDto } from './http/openapi';
import { applyApiConventions } from './http/openapi-conventions';
import { servedRoutes } from './http/served-routes';

/** How `createApp` logs. */
export type CreateAppOptions = {
  /** `false`: log nothing (the tests); otherwise `LOG_LEVEL` decides. */
  readonly logger?: false;
  /** Where log lines go instead of standard output (a test reads them there). */
  readonly logDestination?: LogDestination;
  readonly clock?: Clock;
};

/** The HTTP service: the application and its logs. */
@Module({})
class ServiceModule {
  static register(config: AppConfig, clock?: Clock): DynamicModule {
    return {
      module: ServiceModule,
      imports: [AppModule.register(config, clock), LoggingModule.forRoot(config.LOG_LEVEL)],
    };
  }
}

/** Builds the application (not yet listening): shared by `main.ts` and the end-to-end tests. */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const silent = options.logger === false;
  const adapter = new FastifyAdapter({
    bodyLimit: 1024 * 1024,
    // While shutting down, `installDrain` answers with a problem document instead.
    return503OnClosing: false,
    // The router's own refusals (a malformed percent-escape, a parameter over 100
    // characters) come before any route: problem documents like every other error.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
      void sendProblem(reply, error),
    // The client's X-Request-Id when safe, else a UUID: the id of the request's log lines.
    genReqId: requestIdOf,
  });
  // Before the request logger below, which would otherwise answer first.
  echoRequestIds(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(
    ServiceModule.register(config, options.clock),
    adapter,
    {
      // Nest's own lines wait for the JSON logger below (silent: there are none).
      ...(silent ? { logger: false } : { bufferLogs: true }),
      // Our own JSON parser below (Nest would otherwise install its own at init).
      bodyParser: false,
    },
  );
  useLogOutput(
    options.logDestination ?? (silent ? undefined : await standardOutput()),
    silent ? 'silent' : config.LOG_LEVEL,
  );
  if (!silent) app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  // First of the hooks added here: those after it run in the request's logging context.
  installRequestLog(fastify, await app.resolve(PinoLogger));
  installJsonBodyParser(fastify);
  installParameterCheck(fastify);
  installRequestTimeout(fastify, config.REQUEST_TIMEOUT_MS);
  installDrain(fastify);
  installEventStreams(fastify);
  installUnsealing(fastify, app.get(PersonalDataVault));
  // 0 turns the limit off; the plugin itself would read it as "refuse everything".
  if (config.RATE_LIMIT_PER_MINUTE > 0) await limitRequestRate(app, config.RATE_LIMIT_PER_MINUTE);
  app.get(Metrics).instrument(fastify);
  app.useGlobalFilters(new ProblemDetailsFilter());
  // Nest's ValidationPipe, remembering the query strings it has accepted (validation-pipe.ts).
  app.useGlobalPipes(
    new CachingValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // Every bad field at once, not the first.
      exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
    }),
  );
  // A deployment that does not want to publish its API map turns the docs off: then nothing is
  // registered at /docs or /docs-json, and both answer 404 like any unknown path.
  if (config.DOCS_ENABLED) serveDocs(app);
  // Signals are not Nest's to handle: `main.ts` drains requests first, then closes the app
  // (graceful-shutdown.ts), and exits 0 rather than re-raising the signal.
  return app;
}

function serveDocs(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, openApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}

/**
 * The OpenAPI document of the routes `app` serves: what the decorators say, completed with the
 * API-wide conventions (security, problem responses) from the routes' own metadata.
 */
export function openApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Participant progress')
      .setDescription(
        'Event-sourced participant progress for multi-year talent programmes. Errors are application/problem+json (RFC 9457). Lists are paged with `limit` and `cursor` and answer `{items, nextCursor}`; every query takes `minPosition` (read-your-writes).',
      )
      .setVersion('1')
      .addServer('/', 'this instance: the origin this document was read from')
      .addBearerAuth()
      .build(),
    { extraModels: [ProblemDocumentDto] },
  );
  // The package is UNLICENSED: a private service, used under the programme's agreements.
  document.info.license = { name: 'UNLICENSED (proprietary; use under the programme agreements)' };
  return applyApiConventions(document, servedRoutes(app));
}
