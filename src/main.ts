import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap';
import { loadConfigOrExit } from './config/load-config-or-exit';
import { shutDownOnSignals } from './graceful-shutdown';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createApp(config);
  shutDownOnSignals(app, {
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    exit: (code) => process.exit(code),
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  // A log line like every other, so standard output stays one JSON object a line.
  new Logger('Main').log(
    `Serving on http://${config.HOST}:${config.PORT} (event store: ${config.EVENT_STORE}, data: ${config.dataDir})`,
  );
}

void main();
