import { type KeyObject, createSecretKey, randomBytes } from 'node:crypto';
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
const MAX_CACHED_TOKENS = 10_000;
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

/** The token of an `Authorization: Bearer <token>` header; undefined for none or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match ? match[1] : undefined;
}

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
  // Imported once: handing jose the raw bytes would import the key again for every request.
  private readonly key: KeyObject | undefined;
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(private readonly options: VerifierOptions) {
    this.jwks = options.kind === 'jwks' ? createRemoteJWKSet(new URL(options.url)) : undefined;
    this.key = options.kind === 'local' ? createSecretKey(options.secret) : undefined;
  }

  /**
   * Verifying a signature costs ~0.1 ms (jose works through WebCrypto); a client sends the same
   * token with every request, so a verified token is remembered until it expires.
   */
  async verify(token: string): Promise<Principal> {
    const cached = this.verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.principal;
    const { principal, expiresAt } = await this.verifySignature(token);
    if (this.verified.size >= MAX_CACHED_TOKENS)
      this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { principal, expiresAt });
    return principal;
  }

  private async verifySignature(
    token: string,
  ): Promise<{ principal: Principal; expiresAt: number }> {
    let payload: JWTPayload;
    try {
      if (this.options.kind === 'local') {
        ({ payload } = await jwtVerify(token, this.key!, {
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
    // Without an exp claim, re-verify after a minute rather than trusting it for ever.
    const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000;
    return {
      principal: { sub, role, society: typeof society === 'string' ? society : null },
      expiresAt,
    };
  }
}
