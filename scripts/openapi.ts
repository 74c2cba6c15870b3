// Writes the OpenAPI document the service serves at /docs-json to a file (or stdout), from an
// app on a scratch DATA_DIR: for the typed client's generation and for linting outside jest.
// npm run openapi -- [file]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openapi-'));
  const app = await createApp(
    loadConfig({ DATA_DIR: dataDir, AUTH_JWT_SECRET: 'openapi-document-only-'.repeat(3) }),
    { logger: false },
  );
  try {
    await app.init();
    const server = app.getHttpAdapter().getInstance();
    await server.ready();
    const response = await server.inject({ method: 'GET', url: '/docs-json' });
    if (response.statusCode !== 200) throw new Error(`/docs-json: ${response.statusCode}`);
    const text = `${JSON.stringify(JSON.parse(response.body), null, 2)}\n`;
    if (process.argv[2]) writeFileSync(process.argv[2], text);
    else process.stdout.write(text);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
