import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshEnv, startApp, type TestApp } from '../support/app';

type OpenApi = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
  >;
};

const ROOT = join(__dirname, '..', '..');

/**
 * The document /docs-json serves is what integrators generate clients from: Redocly's
 * recommended rules pass on it with no error and no warning (rules turned off are in
 * redocly.yaml, each with its reason).
 */
describe('OpenAPI document', () => {
  let t: TestApp;
  let document: OpenApi;
  beforeAll(async () => {
    t = await startApp(await freshEnv('sqlite'));
    const response = await t.request({ method: 'GET', url: '/docs-json' });
    expect(response.statusCode).toBe(200);
    document = response.json<OpenApi>();
  });
  afterAll(() => t.close());

  it("passes Redocly's recommended rules: 0 errors, 0 warnings", async () => {
    const file = join(t.dataDir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'),
        'lint',
        file,
        '--config',
        join(ROOT, 'redocly.yaml'),
        '--format=json',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map(
      (p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('every error answer is a problem document, every success answer has a schema', () => {
    const wrong: string[] = [];
    for (const [path, operations] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(operations))
        for (const [status, response] of Object.entries(operation.responses)) {
          const types = Object.keys(response.content ?? {});
          if (Number(status) >= 400 && types.join() !== 'application/problem+json')
            wrong.push(`${method} ${path} ${status}: ${types.join() || 'no content'}`);
          if (Number(status) < 300 && types.length === 0)
            wrong.push(`${method} ${path} ${status}: no content`);
        }
    expect(wrong).toEqual([]);
  });
});
