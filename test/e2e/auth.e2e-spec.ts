import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { SECRET, freshEnv, startApp, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';

const P = 'cast-dtdp-2025';
const now = () => Math.floor(Date.now() / 1000);

/** A bearer header for a locally signed token with exactly these claims. */
async function localBearer(claims: JWTPayload): Promise<Record<string, string>> {
  const token = await new SignJWT({ iss: 'participant-progress', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
  return { authorization: `Bearer ${token}` };
}

describe('local tokens over HTTP (docs/API.md, "Authentication")', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(await freshEnv('sqlite'));
    const submitted = await t.request({
      method: 'POST',
      url: `/v1/programmes/${P}/applications`,
      headers: { 'content-type': 'application/json', ...(await t.auth('applicant')) },
      payload: JSON.stringify(eligibleForm),
    });
    expect(submitted.statusCode).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  const applications = (headers: Record<string, string>) =>
    t.request({ method: 'GET', url: `/v1/programmes/${P}/applications?minPosition=2`, headers });

  it('staff with a society code see their own applications', async () => {
    const response = await applications(
      await localBearer({
        sub: 'staff-1',
        role: 'society_staff',
        society: 'B33',
        iat: now(),
        exp: now() + 60,
      }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it.each([
    ['an empty society', { society: '' }],
    ['no society', {}],
    ['a society that is not a code', { society: 'all' }],
  ])('staff with %s are 401, not shown every society', async (_, society) => {
    const response = await applications(
      await localBearer({
        sub: 'staff-1',
        role: 'society_staff',
        iat: now(),
        exp: now() + 60,
        ...society,
      }),
    );
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it.each([
    ['no exp', { iat: now() }],
    ['a lifetime over AUTH_MAX_TTL', { iat: now(), exp: now() + 13 * 3600 }],
  ])('a token with %s is 401', async (_, times) => {
    const response = await applications(
      await localBearer({ sub: 'admin-1', role: 'programme_admin', ...times }),
    );
    expect(response.statusCode).toBe(401);
  });
});

describe('provider tokens over HTTP (AUTH_JWKS_URL)', () => {
  let t: TestApp;
  let server: Server;
  let sign: (claims: JWTPayload) => Promise<Record<string, string>>;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    t = await startApp({
      ...(await freshEnv('sqlite')),
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`,
      AUTH_ISSUER: 'https://id.example.org/',
      AUTH_AUDIENCE: 'participant-progress',
      AUTH_ROLE_CLAIM: 'cast_role',
      AUTH_SOCIETY_CLAIM: 'cast_society',
    });
    sign = async (claims) => ({
      authorization: `Bearer ${await new SignJWT({
        iss: 'https://id.example.org/',
        aud: 'participant-progress',
        sub: 'user-1',
        iat: now(),
        exp: now() + 300,
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .sign(privateKey)}`,
    });
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const applications = (headers: Record<string, string>) =>
    t.request({ method: 'GET', url: `/v1/programmes/${P}/applications`, headers });

  it('accepts the configured claims and refuses what the settings do not name', async () => {
    expect(
      (await applications(await sign({ cast_role: 'society_staff', cast_society: 'B33' })))
        .statusCode,
    ).toBe(200);
    expect(
      (await applications(await sign({ role: 'society_staff', society: 'B33' }))).statusCode,
    ).toBe(401);
    expect(
      (await applications(await sign({ cast_role: 'society_staff', cast_society: '' }))).statusCode,
    ).toBe(401);
    expect(
      (await applications(await sign({ cast_role: 'auditor', aud: 'another-service' }))).statusCode,
    ).toBe(401);
    // The local secret no longer mints anything the service accepts.
    expect((await applications(await t.auth('programme_admin'))).statusCode).toBe(401);
  });
});
