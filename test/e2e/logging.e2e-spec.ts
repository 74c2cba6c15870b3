import { rmSync } from 'node:fs';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/app-config';
import { freshEnv, startApp, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';

const P = 'cast-dtdp-2025';

/** A log line as the service writes it. */
type Line = Record<string, unknown> & { level: string; msg?: string };

describe('structured logs', () => {
  let t: TestApp | undefined;
  let written: string[];
  const logs = { write: (line: string) => void written.push(line) };
  /** Every line written so far, parsed: throws if one is not a JSON object. */
  const lines = (): Line[] => written.map((line) => JSON.parse(line) as Line);
  const requestLines = () => lines().filter((line) => line.msg?.startsWith('request '));

  beforeEach(() => {
    written = [];
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const post = (url: string, headers: Record<string, string>, payload: unknown = {}) =>
    t!.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });

  it('one JSON line per request and per command, with ids, caller and route, and no token or personal data', async () => {
    t = await startApp(await freshEnv('sqlite'), undefined, logs);
    const applicant = await t.auth('applicant', { sub: 'student-7' });
    const staff = await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' });

    const submitted = await post(
      `/v1/programmes/${P}/applications`,
      { ...applicant, 'x-request-id': 'req-submit-1', 'x-correlation-id': 'corr-42' },
      eligibleForm,
    );
    expect(submitted.statusCode).toBe(201);
    expect(submitted.headers['x-request-id']).toBe('req-submit-1');
    const { applicationId, position } = submitted.json<{
      applicationId: string;
      position: number;
    }>();

    const read = await t.request({
      method: 'GET',
      url: `/v1/applications/${applicationId}?minPosition=${position}`,
      // Not in the accepted form: replaced by a new id.
      headers: { ...staff, 'x-request-id': 'has spaces <and markup>' },
    });
    expect(read.statusCode).toBe(200);
    const readId = read.headers['x-request-id'] as string;
    expect(readId).toMatch(/^[0-9a-f-]{36}$/);

    const again = await post(`/v1/programmes/${P}/applications`, applicant, eligibleForm);
    expect(again.statusCode).toBe(409);

    const bad = await post(`/v1/programmes/${P}/applications`, applicant, {
      ...eligibleForm,
      fullName: 'Zhang San',
      nationality: 'somewhere',
    });
    expect(bad.statusCode).toBe(400);

    const all = lines();
    expect(all.length).toBe(written.length);
    const byRequest = new Map(requestLines().map((line) => [line.reqId, line]));

    // The command: the client's request and correlation ids; a student by pseudonym only.
    expect(byRequest.get('req-submit-1')).toMatchObject({
      level: 'info',
      reqId: 'req-submit-1',
      correlationId: 'corr-42',
      role: 'applicant',
      sub: expect.stringMatching(/^[0-9a-f]{32}$/),
      route: '/v1/programmes/:programmeId/applications',
      req: { method: 'POST', path: `/v1/programmes/${P}/applications` },
      res: { statusCode: 201 },
      responseTime: expect.any(Number),
    });
    expect(all.find((line) => line.msg === 'command handled')).toMatchObject({
      reqId: 'req-submit-1',
      command: 'SubmitApplication',
      outcome: 'appended',
      stream: `application-${applicationId}`,
      position,
      events: ['ApplicationSubmitted'],
      durationMs: expect.any(Number),
    });

    // A refused command: its code, never its message (which may quote what was sent).
    expect(all.find((line) => line.msg === 'command refused')).toMatchObject({
      level: 'info',
      command: 'SubmitApplication',
      outcome: 'refused',
      code: 'APPLICATION_EXISTS',
      stream: null,
      position: null,
    });

    // The query: staff by their sub; no correlation id sent, so it is the request id.
    expect(byRequest.get(readId)).toMatchObject({
      level: 'info',
      correlationId: readId,
      sub: 'staff-B33',
      role: 'society_staff',
      route: '/v1/applications/:applicationId',
      req: { method: 'GET', path: `/v1/applications/${applicationId}` },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });

    // The refusal: one info line with its problem code, no error and no stack.
    expect(
      requestLines().find((line) => (line.res as { statusCode: number }).statusCode === 400),
    ).toMatchObject({
      level: 'info',
      code: 'VALIDATION_FAILED',
      role: 'applicant',
      route: '/v1/programmes/:programmeId/applications',
    });
    expect(all.filter((line) => line.level === 'error')).toEqual([]);

    // Nothing a client sent in a header or a body leaks: not the tokens, not the student's sub,
    // not a name, an institution or a query string.
    const text = written.join('');
    for (const secret of [
      applicant.authorization!.slice('Bearer '.length),
      staff.authorization!.slice('Bearer '.length),
      'student-7',
      eligibleForm.fullName,
      'Zhang San',
      eligibleForm.institution,
      'minPosition',
      'has spaces',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('a 503 NOT_YET_PROJECTED is a warning on the request line, not an error with a stack', async () => {
    t = await startApp(await freshEnv('sqlite'), undefined, logs);
    const response = await t.request({
      method: 'GET',
      url: `/v1/programmes/${P}/applications?minPosition=999999`,
      headers: await t.auth('programme_admin'),
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'NOT_YET_PROJECTED' });
    const all = lines();
    expect(requestLines()).toEqual([
      expect.objectContaining({
        level: 'warn',
        code: 'NOT_YET_PROJECTED',
        res: { statusCode: 503 },
        role: 'programme_admin',
      }),
    ]);
    expect(all.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
    expect(written.join('')).not.toMatch(/"stack"|\\n\s+at /);
  }, 20_000);

  it('a bug (500) is logged once at error level with its stack; the command line says it failed', async () => {
    t = await startApp(await freshEnv('sqlite'), undefined, logs);
    jest
      .spyOn(t.store, 'readStream')
      .mockRejectedValueOnce(new TypeError('a bug in reading the stream'));
    const response = await post(
      `/v1/programmes/${P}/applications`,
      await t.auth('applicant'),
      eligibleForm,
    );
    expect(response.statusCode).toBe(500);
    const errors = lines().filter((line) => line.level === 'error');
    expect(errors).toHaveLength(2);
    const requestLine = errors.find((line) => line.msg === 'request errored');
    // The request line: the problem code, and not pino-http's made-up error with its own stack.
    expect(requestLine).toMatchObject({ code: 'INTERNAL_ERROR', res: { statusCode: 500 } });
    expect(requestLine).not.toHaveProperty('err');
    expect(errors.find((line) => line !== requestLine)).toMatchObject({
      context: 'HTTP',
      reqId: requestLine!.reqId,
      err: {
        type: 'TypeError',
        message: 'a bug in reading the stream',
        stack: expect.stringContaining('TypeError: a bug in reading the stream'),
      },
    });
    expect(lines().find((line) => line.context === 'Command')).toMatchObject({
      level: 'warn',
      msg: 'command failed',
      command: 'SubmitApplication',
      outcome: 'failed',
      error: 'TypeError',
      reqId: requestLine!.reqId,
    });
  });

  it('with the logger off (as the other tests run), nothing is written, even after a logging app', async () => {
    t = await startApp(await freshEnv('sqlite'), undefined, logs);
    await t.close();
    t = undefined;
    written = [];
    const env = await freshEnv('sqlite');
    const app = await createApp(loadConfig(env), { logger: false, logDestination: logs });
    try {
      await app.init();
      const response = await app.getHttpAdapter().getInstance().inject({ url: '/health/nope' });
      expect(response.statusCode).toBe(404);
    } finally {
      await app.close();
      rmSync(env.DATA_DIR!, { recursive: true, force: true });
    }
    expect(written).toEqual([]);
  });
});
