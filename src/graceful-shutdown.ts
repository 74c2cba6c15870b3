import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { drainHttp } from './http/drain';

/** How `shutDown` is bounded and reports. */
export interface ShutdownOptions {
  /** The whole shutdown must finish within this (SHUTDOWN_TIMEOUT_MS), or the process exits 1. */
  readonly timeoutMs: number;
  /** Ends the process; `process.exit` in the service. */
  readonly exit: (code: number) => void;
  /** Where progress is written; Nest's logger by default. */
  readonly log?: (line: string) => void;
}

/**
 * Shuts the service down gracefully on SIGTERM or SIGINT (see `shutDown`); a second signal
 * while it runs changes nothing, the deadline still bounds it.
 */
export function shutDownOnSignals(app: NestFastifyApplication, options: ShutdownOptions): void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (started) return;
    started = true;
    void shutDown(app, signal, options);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * In order: stop accepting and let the requests in flight finish (so every command that is
 * answered was written, and none is cut off half-way); then Nest's close, which stops the
 * projection runners and their subscriptions, writes the appends still queued for a group commit
 * and closes the stores and their pools; then exit 0. If all that has not finished within
 * `timeoutMs`, exit 1: an orchestrator would kill the process soon anyway, and the exit code
 * tells the operator that something was still running.
 */
export async function shutDown(
  app: NestFastifyApplication,
  reason: string,
  options: ShutdownOptions,
): Promise<void> {
  const logger = new Logger('Shutdown');
  const log = options.log ?? ((line: string) => logger.log(line));
  const started = Date.now();
  const deadline = setTimeout(() => {
    log(`Shutdown did not finish within ${options.timeoutMs} ms; exiting with 1.`);
    options.exit(1);
  }, options.timeoutMs);
  try {
    log(`${reason}: no longer accepting requests; waiting for those in flight.`);
    await drainHttp(app.getHttpAdapter().getInstance());
    log('Requests finished; stopping projections, writing queued appends, closing stores.');
    await app.close();
    clearTimeout(deadline);
    log(`Shut down in ${Date.now() - started} ms.`);
    options.exit(0);
  } catch (error) {
    clearTimeout(deadline);
    log(
      `Shutdown failed: ${error instanceof Error ? error.message : String(error)}; exiting with 1.`,
    );
    options.exit(1);
  }
}
