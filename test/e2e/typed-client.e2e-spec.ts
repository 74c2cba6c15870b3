import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshEnv, startApp, type TestApp } from '../support/app';

const CLIENT = join(__dirname, '..', '..', 'clients', 'typescript');
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The typed client (clients/typescript) is generated from the document this app serves, built
 * with its own TypeScript (which checks its code and tests against the generated types), and its
 * tests run against this app over HTTP.
 */
describe('typed TypeScript client', () => {
  let t: TestApp;
  let baseUrl: string;
  beforeAll(async () => {
    t = await startApp(await freshEnv('sqlite'));
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(() => t.close());

  it('is generated from /docs-json, builds, and its tests pass against the running app', async () => {
    const docs = await t.request({ method: 'GET', url: '/docs-json' });
    await writeFile(join(CLIENT, 'openapi.json'), docs.body);
    if (!existsSync(join(CLIENT, 'node_modules')))
      await run(npm, ['ci', '--no-audit', '--no-fund'], { cwd: CLIENT });
    await run(npm, ['run', 'build'], { cwd: CLIENT }).catch(
      (error: { stdout?: string; message?: string }) => {
        throw new Error(`the client does not build:\n${error.stdout ?? error.message ?? ''}`);
      },
    );
    const env = {
      ...process.env,
      PROGRESS_URL: baseUrl,
      ADMIN_TOKEN: (await t.auth('programme_admin')).authorization!.slice('Bearer '.length),
      APPLICANT_TOKEN: (
        await t.auth('applicant', { sub: 'client-applicant' })
      ).authorization!.slice('Bearer '.length),
    };
    const result = await run(process.execPath, ['--test', 'dist/test/'], {
      cwd: CLIENT,
      env,
    }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`the client's tests fail:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    expect(result.stdout).toMatch(/# pass 4/);
    expect(result.stdout).toMatch(/# fail 0/);
  }, 120_000);
});
