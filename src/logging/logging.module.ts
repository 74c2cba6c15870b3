import { type DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { LogLevelSetting } from '../config/app-config';
import { CommandLog } from './command-log';
import { httpLogOptions } from './http-log';
import { logSwitch } from './log-output';

/**
 * The service's logs (docs/logging.md): nestjs-pino's logger for everything logged through Nest's
 * `Logger`, one line per request (pino-http) and one per command. Only the HTTP service has it;
 * the command line prints for people and keeps Nest's own logger.
 */
@Module({})
export class LoggingModule {
  static forRoot(level: LogLevelSetting): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: httpLogOptions(level, logSwitch),
          // Every path. nestjs-pino's default, `{/*splat}`, becomes `/{/*splat}` in
          // @fastify/middie 9.3 (it prefixes a slash), which matches `/` alone: no request
          // would be logged.
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        }),
      ],
      providers: [CommandLog],
    };
  }
}
