import { type LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppModule } from './app.module';
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
import { installDrain } from './http/drain';

/** Builds the application (not yet listening): shared by `main.ts` and the end-to-end tests. */
export async function createApp(
  config: AppConfig,
  options: { logger?: LogLevel[] | false; clock?: Clock } = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config, options.clock),
    new FastifyAdapter({
      bodyLimit: 1024 * 1024,
      // While shutting down, `installDrain` answers with a problem document instead.
      return503OnClosing: false,
      // The router's own refusals (a malformed percent-escape, a parameter over 100
      // characters) come before any route: problem documents like every other error.
      frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
        void sendProblem(reply, error),
    }),
    {
      logger: options.logger ?? ['error', 'warn', 'log'],
      // Our own JSON parser below (Nest would otherwise install its own at init).
      bodyParser: false,
    },
  );
  const fastify = app.getHttpAdapter().getInstance();
  installJsonBodyParser(fastify);
  installParameterCheck(fastify);
  installRequestTimeout(fastify, config.REQUEST_TIMEOUT_MS);
  installDrain(fastify);
  // 0 turns the limit off; the plugin itself would read it as "refuse everything".
  if (config.RATE_LIMIT_PER_MINUTE > 0) await limitRequestRate(app, config.RATE_LIMIT_PER_MINUTE);
  app.get(Metrics).instrument(fastify);
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(
    new ValidationPipe({
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
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Participant progress')
      .setDescription(
        'Event-sourced participant progress for multi-year talent programmes. Errors are application/problem+json (RFC 9457).',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
