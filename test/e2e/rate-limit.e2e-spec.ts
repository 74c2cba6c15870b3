import { mintToken } from '../../src/auth/tokens';
import { freshEnv, startApp, type TestApp } from '../support/app';

const LIMIT = 3;

describe('rate limiting (HTTP)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp({ ...(await freshEnv('sqlite')), RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterEach(() => t.close());

  const programmes = (headers: Record<string, string> = {}, remoteAddress?: string) =>
    t.request({
      method: 'GET',
      url: '/v1/programmes',
      headers,
      ...(remoteAddress ? { remoteAddress } : {}),
    });

  it('refuses a token subject over the limit with a 429 problem and Retry-After; others go on', async () => {
    const alice = await t.auth('programme_admin', { sub: 'alice' });
    for (let i = 0; i < LIMIT; i += 1) expect((await programmes(alice)).statusCode).toBe(200);
    const refused = await programmes(alice);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.json()).toEqual({
      type: '/problems/rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: expect.stringContaining(`More than ${LIMIT} requests in a minute`),
      code: 'RATE_LIMITED',
    });
    // A fresh token for the same subject shares the budget: the subject is limited, not the token.
    const aliceAgain = await t.auth('auditor', { sub: 'alice' });
    expect((await programmes(aliceAgain)).statusCode).toBe(429);
    // Another subject, from the same address, has its own budget.
    expect((await programmes(await t.auth('programme_admin', { sub: 'bob' }))).statusCode).toBe(
      200,
    );
  });

  it('limits requests without a valid token per address; forged subjects do not escape it', async () => {
    // Signed with another secret: each claims a new subject, none verifies.
    const forged = async (sub: string) => ({
      authorization: `Bearer ${await mintToken(
        { role: 'auditor', sub },
        new TextEncoder().encode('an-attacker-secret-that-is-long-enough-0123456789'),
      )}`,
    });
    for (let i = 0; i < LIMIT; i += 1)
      expect((await programmes(await forged(`mallory-${i}`))).statusCode).toBe(401);
    expect((await programmes(await forged('mallory-new'))).statusCode).toBe(429);
    expect((await programmes()).statusCode).toBe(429);
    // Another address is not affected, nor is a valid token from the same one.
    expect((await programmes({}, '10.0.0.7')).statusCode).toBe(401);
    expect((await programmes(await t.auth('dashboard'))).statusCode).toBe(200);
  });

  it('never limits health and metrics', async () => {
    for (let i = 0; i < LIMIT + 1; i += 1) await programmes();
    expect((await programmes()).statusCode).toBe(429);
    for (let i = 0; i < LIMIT * 3; i += 1) {
      for (const url of ['/health/live', '/health/ready', '/metrics'])
        expect((await t.request({ method: 'GET', url })).statusCode).toBe(200);
    }
  });
});

it('RATE_LIMIT_PER_MINUTE=0 (the test default) turns the limit off', async () => {
  const t = await startApp(await freshEnv('sqlite'));
  try {
    const headers = await t.auth('dashboard');
    for (let i = 0; i < 50; i += 1) {
      const response = await t.request({ method: 'GET', url: '/v1/programmes', headers });
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-ratelimit-limit']).toBeUndefined();
    }
  } finally {
    await t.close();
  }
});
