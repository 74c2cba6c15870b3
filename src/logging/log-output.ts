import { PinoLogger } from 'nestjs-pino';
import { type DestinationStream, destination } from 'pino';
import type { LogLevelSetting } from '../config/app-config';

/** Where log lines go: anything with a `write` taking one line (a JSON object and `\n`). */
export type LogDestination = { write(line: string): unknown };

/**
 * nestjs-pino builds one pino logger per process, from the options of the first application
 * created in it; a later one (tests build several in one process) reuses it. So the logger
 * writes here, and every application sets where this points and the level when it is created
 * (`useLogOutput`); the last one created decides for the process.
 */
class LogSwitch implements DestinationStream {
  target: LogDestination | undefined;

  write(line: string): void {
    (this.target ?? stdoutJson()).write(line);
  }
}

/** The destination the service's pino logger writes to. */
export const logSwitch = new LogSwitch();

let json: LogDestination | undefined;
let pretty: LogDestination | undefined;

// Synchronous writes: the lines logged just before `process.exit` (a shutdown that timed out)
// reach the file or pipe.
function stdoutJson(): LogDestination {
  json ??= destination({ dest: 1, sync: true });
  return json;
}

/**
 * Standard output: JSON lines, one object a line, for whatever collects them; readable coloured
 * lines when it is a terminal (a developer's), through pino-pretty, loaded only then.
 */
export async function standardOutput(): Promise<LogDestination> {
  if (!process.stdout.isTTY) return stdoutJson();
  if (!pretty) {
    const { default: prettyStream } = await import('pino-pretty');
    pretty = prettyStream({
      colorize: true,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      // A request on one line; the rest of its fields (ids, caller) below it.
      messageFormat:
        '{if context}[{context}] {end}{msg}{if req} {req.method} {req.path} {res.statusCode} in {responseTime} ms{end}',
      ignore: 'pid,hostname,context,req,res,responseTime',
    });
  }
  return pretty;
}

/**
 * Points the process's logger at `target` (standard output as JSON lines when undefined) and sets
 * its level (see `LogSwitch`).
 */
export function useLogOutput(target: LogDestination | undefined, level: LogLevelSetting): void {
  logSwitch.target = target;
  // The documented way to change nestjs-pino's logger at run time: every request's logger is a
  // child made after this, and logs outside a request use the root itself.
  PinoLogger.root.level = level;
}
