import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { LogLevelSetting } from '../config/app-config';
import { CommandLog } from './command-log';
import { httpLogOptions } from './http-log';
import { logSwitch } from './log-output';

/**
 * The service's logs (docs/logging.md): nestjs-pino's logger for everything logged through Nest's
 * `Logger`, one line per request (`installRequestLog`) and one per command. Only the HTTP service has it;
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
          // No Nest middleware: the request line is written from a Fastify hook
          // (`installRequestLog`), which costs a fraction of Nest middleware on Fastify.
          forRoutes: [],
        }),
      ],
      providers: [CommandLog],
    };
  }
}
