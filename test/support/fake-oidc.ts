import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/**
 * A small OpenID Connect provider on a loopback port, for the dashboard's sign-in: discovery,
 * an authorization endpoint that signs in at once (as `claims`), a token endpoint that checks
 * the PKCE verifier against the challenge, and the JWKS the service verifies the token with.
 */
export type FakeOidc = {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The claims of the next sign-in (role, society, sub). */
  claims: Record<string, string>;
  /** Token requests refused so far, with why. */
  readonly refused: string[];
  close(): Promise<void>;
};

export async function startFakeOidc(options: {
  clientId: string;
  audience: string;
}): Promise<FakeOidc> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const refused: string[] = [];
  let issuer = '';
  const provider: FakeOidc = {
    issuer: '',
    jwksUrl: '',
    claims: { role: 'programme_admin', sub: 'oidc-admin' },
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const body = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => resolve(text));
    });
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', issuer);
      const json = (status: number, value: unknown) => {
        response.writeHead(status, {
          'content-type': 'application/json',
          'access-control-allow-origin': '*',
        });
        response.end(JSON.stringify(value));
      };
      if (url.pathname === '/.well-known/openid-configuration')
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          code_challenge_methods_supported: ['S256'],
        });
      if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const q = url.searchParams;
        if (
          q.get('response_type') !== 'code' ||
          q.get('client_id') !== options.clientId ||
          q.get('code_challenge_method') !== 'S256' ||
          !q.get('code_challenge') ||
          !q.get('redirect_uri')
        )
          return json(400, { error: 'invalid_request' });
        const code = randomUUID();
        codes.set(code, {
          challenge: q.get('code_challenge')!,
          redirectUri: q.get('redirect_uri')!,
        });
        const back = new URL(q.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        response.writeHead(302, { location: back.toString() });
        return response.end();
      }
      if (url.pathname === '/token' && request.method === 'POST') {
        const form = new URLSearchParams(await body(request));
        const issued = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const why = !issued
          ? 'unknown code'
          : form.get('grant_type') !== 'authorization_code'
            ? 'grant_type'
            : form.get('client_id') !== options.clientId
              ? 'client_id'
              : form.get('redirect_uri') !== issued.redirectUri
                ? 'redirect_uri'
                : challenge !== issued.challenge
                  ? 'PKCE verifier'
                  : undefined;
        if (why) {
          refused.push(why);
          return json(400, { error: 'invalid_grant' });
        }
        const accessToken = await new SignJWT(provider.claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
          .setIssuer(issuer)
          .setAudience(options.audience)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
        return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300 });
      }
      json(404, { error: 'not_found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(provider, { issuer, jwksUrl: `${issuer}/jwks` });
  return provider;
}
