import 'reflect-metadata';
import { createApp } from './bootstrap';
import { ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  process.stdout.write(
    `Serving on http://${config.HOST}:${config.PORT} (event store: ${config.EVENT_STORE}, data: ${config.dataDir})\n`,
  );
}

void main();
