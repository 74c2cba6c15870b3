import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SignJWT,
  createRemoteJWKSet,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { isRole, type Principal, type Role } from './principal';

/** Why a token was refused; the message says what to do. */
export class InvalidTokenError extends Error {}

const ISSUER = 'participant-progress';
const SECRET_FILE = 'jwt-secret';

/**
 * The HS256 secret for locally minted tokens: AUTH_JWT_SECRET when set, otherwise a random one
 * generated into DATA_DIR on first start (mode 0600), so a fresh machine works without set-up.
 */
export function loadOrCreateSecret(dataDir: string, configured: string | undefined): Uint8Array {
  if (configured) return new TextEncoder().encode(configured);
  const file = join(dataDir, SECRET_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}

/** What `token` mints. */
export type TokenRequest = {
  readonly role: Role;
  readonly sub: string;
  readonly society?: string;
  /** Lifetime, e.g. `8h`, `30m`, `7d`. */
  readonly ttl?: string;
};

/** Signs a bearer token with the local secret. */
export async function mintToken(request: TokenRequest, secret: Uint8Array): Promise<string> {
  if (request.role === 'society_staff' && !request.society) {
    throw new InvalidTokenError('society_staff tokens need --society CODE (e.g. B33).');
  }
  return new SignJWT({
    role: request.role,
    ...(request.society ? { society: request.society } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(request.sub)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(request.ttl ?? '8h')
    .sign(secret);
}

/** How tokens are checked: the local secret, or an OpenID Connect provider's keys. */
export type VerifierOptions =
  | { readonly kind: 'local'; readonly secret: Uint8Array }
  | {
      readonly kind: 'jwks';
      readonly url: string;
      readonly issuer?: string;
      readonly audience?: string;
    };

/** Verifies bearer tokens and turns their claims into a `Principal`. */
export class TokenVerifier {
  private readonly jwks: JWTVerifyGetKey | undefined;

  constructor(private readonly options: VerifierOptions) {
    this.jwks = options.kind === 'jwks' ? createRemoteJWKSet(new URL(options.url)) : undefined;
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      if (this.options.kind === 'local') {
        ({ payload } = await jwtVerify(token, this.options.secret, {
          issuer: ISSUER,
          algorithms: ['HS256'],
        }));
      } else {
        ({ payload } = await jwtVerify(token, this.jwks!, {
          ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
          ...(this.options.audience ? { audience: this.options.audience } : {}),
        }));
      }
    } catch (error) {
      throw new InvalidTokenError(
        `The bearer token is not valid (${(error as Error).message}); get a new one.`,
        { cause: error },
      );
    }
    const { sub, role, society } = payload as JWTPayload & { role?: unknown; society?: unknown };
    if (!sub) throw new InvalidTokenError('The bearer token has no sub claim.');
    if (!isRole(role))
      throw new InvalidTokenError(
        `The bearer token's role claim must be one of the API roles, not ${String(role)}.`,
      );
    if (role === 'society_staff' && typeof society !== 'string') {
      throw new InvalidTokenError('A society_staff token must carry a society claim.');
    }
    return { sub, role, society: typeof society === 'string' ? society : null };
  }
}
