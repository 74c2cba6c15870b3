import { type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import {
  SignJWT,
  UnsecuredJWT,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { InvalidTokenError, TokenVerifier, mintToken, type VerifierOptions } from './tokens';

const SECRET = new TextEncoder().encode('unit-test-secret-that-is-long-enough-0123456789');
const now = () => Math.floor(Date.now() / 1000);

/** Signs claims with the local secret as `mintToken` would, but with exactly these claims. */
function signLocal(claims: JWTPayload): Promise<string> {
  return new SignJWT({ iss: 'participant-progress', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(SECRET);
}

const local = (maxTtl?: string) =>
  new TokenVerifier({ kind: 'local', secret: SECRET, ...(maxTtl ? { maxTtl } : {}) });

describe('local tokens', () => {
  it('mints a staff token that verifies to its society; a society on another role is dropped', async () => {
    const verifier = local();
    await expect(
      verifier.verify(
        await mintToken({ role: 'society_staff', sub: 'staff-1', society: 'B33' }, SECRET),
      ),
    ).resolves.toEqual({ sub: 'staff-1', role: 'society_staff', society: 'B33' });
    await expect(
      verifier.verify(await mintToken({ role: 'applicant', sub: 's-1', society: 'B33' }, SECRET)),
    ).resolves.toEqual({ sub: 's-1', role: 'applicant', society: null });
    const signed = await signLocal({
      sub: 's-2',
      role: 'dashboard',
      society: 'B33',
      iat: now(),
      exp: now() + 60,
    });
    await expect(verifier.verify(signed)).resolves.toEqual({
      sub: 's-2',
      role: 'dashboard',
      society: null,
    });
  });

  it.each([
    ['an empty society', { society: '' }],
    ['no society', {}],
    ['a society that is not a code', { society: 'b33' }],
    ['a society that is not a string', { society: 33 }],
  ])('refuses a society_staff token with %s', async (_, claims) => {
    const token = await signLocal({
      sub: 'staff-1',
      role: 'society_staff',
      iat: now(),
      exp: now() + 60,
      ...claims,
    });
    await expect(local().verify(token)).rejects.toThrow(
      /society_staff token must carry a society code such as B33/,
    );
  });

  it('will not mint a staff token without a society code', async () => {
    for (const society of [undefined, '', 'b33']) {
      await expect(
        mintToken(
          { role: 'society_staff', sub: 'x', ...(society !== undefined ? { society } : {}) },
          SECRET,
        ),
      ).rejects.toThrow(/society_staff tokens need --society CODE/);
    }
  });

  it.each([
    ['no exp', { iat: now() }, /missing required "exp" claim/],
    ['no iat', { exp: now() + 60 }, /missing required "iat" claim/],
    ['an iat in the future', { iat: now() + 3600, exp: now() + 7200 }, /iat/],
    ['a lifetime over AUTH_MAX_TTL', { iat: now(), exp: now() + 12 * 3600 + 1 }, /AUTH_MAX_TTL/],
    ['an expired exp', { iat: now() - 120, exp: now() - 60 }, /"exp" claim timestamp check failed/],
  ])('refuses a local token with %s', async (_, times, message) => {
    const token = await signLocal({ sub: 'a-1', role: 'auditor', ...times });
    const refusal = local().verify(token);
    await expect(refusal).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(refusal).rejects.toThrow(message);
  });

  it('accepts a lifetime of exactly AUTH_MAX_TTL, and measures it against the configured one', async () => {
    const token = await signLocal({ sub: 'a-1', role: 'auditor', iat: now(), exp: now() + 3600 });
    await expect(local('1h').verify(token)).resolves.toMatchObject({ role: 'auditor' });
    await expect(local('59m').verify(token)).rejects.toThrow(/AUTH_MAX_TTL/);
  });

  it.each([
    ['no sub', {}],
    ['an empty sub', { sub: '' }],
  ])('refuses a token with %s', async (_, claims) => {
    const token = await signLocal({ role: 'auditor', iat: now(), exp: now() + 60, ...claims });
    await expect(local().verify(token)).rejects.toThrow(/non-empty sub claim/);
  });

  it('mints at most AUTH_MAX_TTL, saying how to get a token', async () => {
    await expect(mintToken({ role: 'auditor', sub: 'a', ttl: '13h' }, SECRET)).rejects.toThrow(
      '--ttl 13h is longer than AUTH_MAX_TTL (12h): ask for 12h or less, or raise AUTH_MAX_TTL.',
    );
    await expect(
      mintToken({ role: 'auditor', sub: 'a', ttl: '2h' }, SECRET, '90m'),
    ).rejects.toThrow(/AUTH_MAX_TTL \(90m\)/);
    // Without --ttl, a token lives 8 hours, or AUTH_MAX_TTL when that is shorter.
    const lifetime = (token: string) => {
      const [, payload] = token.split('.');
      const { iat, exp } = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as {
        iat: number;
        exp: number;
      };
      return exp - iat;
    };
    expect(lifetime(await mintToken({ role: 'auditor', sub: 'a' }, SECRET))).toBe(8 * 3600);
    expect(lifetime(await mintToken({ role: 'auditor', sub: 'a' }, SECRET, '1h'))).toBe(3600);
    expect(lifetime(await mintToken({ role: 'auditor', sub: 'a', ttl: '12h' }, SECRET))).toBe(
      12 * 3600,
    );
  });
});

/** A JWKS endpoint served by the test: the keys it publishes can be changed (rotation). */
class KeyServer {
  keys: JWK[] = [];
  fetches = 0;
  private readonly server: Server = createServer((_request, response) => {
    this.fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
  }

  stop(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

type SigningKey = { kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK };

async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

const ISSUER = 'https://id.example.org/';
const AUDIENCE = 'participant-progress';

describe('tokens from an identity provider (JWKS)', () => {
  const server = new KeyServer();
  let url: string;
  let first: SigningKey;
  beforeAll(async () => {
    url = await server.start();
    first = await signingKey('key-1');
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    server.keys = [first.publicJwk];
    server.fetches = 0;
  });

  const provider = (
    options: Partial<Extract<VerifierOptions, { kind: 'jwks' }>> = {},
  ): TokenVerifier =>
    new TokenVerifier({ kind: 'jwks', url, issuer: ISSUER, audience: AUDIENCE, ...options });

  /** A token as the provider would issue it, with `changes` applied to its claims. */
  const issue = (key: SigningKey, changes: JWTPayload = {}) =>
    new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      role: 'society_staff',
      society: 'B33',
      iat: now(),
      exp: now() + 300,
      ...changes,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .sign(key.privateKey);

  it('accepts a token signed by a published key with the right issuer and audience', async () => {
    await expect(provider().verify(await issue(first))).resolves.toEqual({
      sub: 'user-1',
      role: 'society_staff',
      society: 'B33',
    });
  });

  it.each(['ES256', 'EdDSA'])('accepts %s keys as well', async (alg) => {
    const key = await signingKey(`key-${alg}`, alg);
    server.keys = [key.publicJwk];
    await expect(provider().verify(await issue(key))).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('after a key rotation, accepts tokens signed by the new key once the cooldown has passed', async () => {
    const verifier = provider({ cooldownMs: 0 });
    await verifier.verify(await issue(first));
    const second = await signingKey('key-2');
    server.keys = [first.publicJwk, second.publicJwk];
    await expect(verifier.verify(await issue(second))).resolves.toMatchObject({ sub: 'user-1' });
    expect(server.fetches).toBe(2);
    // The old key is withdrawn: a token it signs now is refused once the set is fetched again.
    const third = await signingKey('key-3');
    server.keys = [second.publicJwk, third.publicJwk];
    await expect(verifier.verify(await issue(third))).resolves.toMatchObject({ sub: 'user-1' });
    await expect(verifier.verify(await issue(first, { sub: 'user-9' }))).rejects.toThrow(
      InvalidTokenError,
    );
  });

  it('within the default cooldown, an unknown kid does not make it fetch the keys again', async () => {
    const verifier = provider();
    await verifier.verify(await issue(first));
    const second = await signingKey('key-2');
    server.keys = [first.publicJwk, second.publicJwk];
    await expect(verifier.verify(await issue(second))).rejects.toThrow(/no applicable key/);
    expect(server.fetches).toBe(1);
  });

  it.each<[string, JWTPayload, RegExp]>([
    ['a wrong issuer', { iss: 'https://evil.example.org/' }, /unexpected "iss" claim value/],
    ['a wrong audience', { aud: 'another-service' }, /unexpected "aud" claim value/],
    ['an expired token', { iat: now() - 600, exp: now() - 300 }, /"exp" claim timestamp/],
    ['a token not valid yet', { nbf: now() + 300 }, /"nbf" claim timestamp/],
    ['no exp', { exp: undefined }, /missing required "exp" claim/],
    ['no sub', { sub: undefined }, /non-empty sub claim/],
    ['an empty society for staff', { society: '' }, /society code such as B33/],
    ['an unknown role', { role: 'root' }, /role claim must be one of the API roles/],
  ])('refuses %s', async (_, changes, message) => {
    const refusal = provider().verify(await issue(first, changes));
    await expect(refusal).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(refusal).rejects.toThrow(message);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const token = new UnsecuredJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      role: 'programme_admin',
      exp: now() + 300,
    }).encode();
    await expect(provider().verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses HS256 signed with the published RSA public key (algorithm confusion)', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-c', alg: 'RS256' };
    server.keys = [jwk];
    const pem = await exportSPKI(publicKey);
    expect(jwk.n).toEqual(expect.any(String));
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(jwk.n)]) {
      const token = await new SignJWT({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-1',
        role: 'programme_admin',
        exp: now() + 300,
      })
        .setProtectedHeader({ alg: 'HS256', kid: 'key-c' })
        .sign(secret);
      await expect(provider().verify(token)).rejects.toThrow(
        /"alg" \(Algorithm\) Header Parameter value not allowed/,
      );
    }
  });

  it('reads the role and society from the configured claims, and only from them', async () => {
    const verifier = provider({
      roleClaim: 'https://cast.example.org/role',
      societyClaim: 'cast_society',
    });
    await expect(
      verifier.verify(
        await issue(first, {
          role: undefined,
          society: undefined,
          'https://cast.example.org/role': 'society_staff',
          cast_society: 'A01',
        }),
      ),
    ).resolves.toEqual({ sub: 'user-1', role: 'society_staff', society: 'A01' });
    await expect(verifier.verify(await issue(first))).rejects.toThrow(
      /https:\/\/cast.example.org\/role claim must be one of the API roles/,
    );
    await expect(
      verifier.verify(
        await issue(first, {
          role: undefined,
          'https://cast.example.org/role': 'society_staff',
        }),
      ),
    ).rejects.toThrow(/society code such as B33 in its cast_society claim/);
  });
});
