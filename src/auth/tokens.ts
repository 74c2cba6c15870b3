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
import { durationSeconds } from '../shared/duration';
import { isRole, isSocietyCode, principalOf, type Principal, type Role } from '../shared/principal';

/** Why a token was refused; the message says what to do. */
export class InvalidTokenError extends Error {}

const ISSUER = 'participant-progress';
const MAX_CACHED_TOKENS = 10_000;
/** The file in DATA_DIR holding the generated token secret when AUTH_JWT_SECRET is unset. */
export const JWT_SECRET_FILE = 'jwt-secret';

/**
 * The HS256 secret for locally minted tokens: AUTH_JWT_SECRET when set, otherwise a random one
 * generated into DATA_DIR on first start (mode 0600), so a fresh machine works without set-up.
 */
export function loadOrCreateSecret(dataDir: string, configured: string | undefined): Uint8Array {
  if (configured) return new TextEncoder().encode(configured);
  const file = join(dataDir, JWT_SECRET_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}

/** The longest lifetime of a locally minted token unless AUTH_MAX_TTL says otherwise. */
export const DEFAULT_MAX_TTL = '12h';
const DEFAULT_TTL = '8h';

/** What `token` mints. */
export type TokenRequest = {
  readonly role: Role;
  readonly sub: string;
  readonly society?: string;
  /** Lifetime, e.g. `8h`, `30m`, `7d`; 8 hours (or AUTH_MAX_TTL when shorter) by default. */
  readonly ttl?: string;
};

/** The token of an `Authorization: Bearer <token>` header; undefined for none or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match ? match[1] : undefined;
}

/**
 * Signs a bearer token with the local secret. It lives at most `maxTtl` (AUTH_MAX_TTL), since a
 * leaked token is only as harmless as it is short-lived. A society given for a role other than
 * staff is left out: it would grant nothing, and the verifier would drop it anyway.
 */
export async function mintToken(
  request: TokenRequest,
  secret: Uint8Array,
  maxTtl: string = DEFAULT_MAX_TTL,
): Promise<string> {
  if (request.role === 'society_staff' && !isSocietyCode(request.society)) {
    throw new InvalidTokenError(
      `society_staff tokens need --society CODE, a society code such as B33${
        request.society === undefined ? '' : ` (got "${request.society}")`
      }.`,
    );
  }
  if (request.sub === '') throw new InvalidTokenError('A token needs a non-empty --sub.');
  const maxSeconds = durationSeconds(maxTtl);
  if (maxSeconds === undefined) {
    throw new InvalidTokenError(`AUTH_MAX_TTL must be a duration such as 12h, not "${maxTtl}".`);
  }
  const ttl = request.ttl ?? (durationSeconds(DEFAULT_TTL)! <= maxSeconds ? DEFAULT_TTL : maxTtl);
  const seconds = durationSeconds(ttl);
  if (seconds === undefined || seconds === 0) {
    throw new InvalidTokenError(
      `--ttl must be a number and a unit such as 30m, 8h or 7d, not "${ttl}".`,
    );
  }
  if (seconds > maxSeconds) {
    throw new InvalidTokenError(
      `--ttl ${ttl} is longer than AUTH_MAX_TTL (${maxTtl}): ask for ${maxTtl} or less, or raise AUTH_MAX_TTL.`,
    );
  }
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT({
    role: request.role,
    ...(request.role === 'society_staff' ? { society: request.society } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(request.sub)
    .setIssuer(ISSUER)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + seconds)
    .sign(secret);
}

/**
 * The algorithms accepted from an identity provider: asymmetric only, so that a token signed
 * with HMAC over a published public key (algorithm confusion), or unsigned, is never accepted.
 */
export const PROVIDER_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

/** How tokens are checked: the local secret, or an OpenID Connect provider's keys. */
export type VerifierOptions =
  | {
      readonly kind: 'local';
      readonly secret: Uint8Array;
      /** AUTH_MAX_TTL: a token whose exp is further than this from its iat is refused. */
      readonly maxTtl?: string;
    }
  | {
      readonly kind: 'jwks';
      readonly url: string;
      readonly issuer: string;
      readonly audience: string;
      /** The claim carrying the role (AUTH_ROLE_CLAIM), `role` by default. */
      readonly roleClaim?: string;
      /** The claim carrying the society code (AUTH_SOCIETY_CLAIM), `society` by default. */
      readonly societyClaim?: string;
      /**
       * How long after fetching the key set a token with an unknown `kid` does not make it fetch
       * again (jose's `cooldownDuration`, 30 s by default): rotation is picked up on the first
       * unknown kid after that, while a flood of made-up kids cannot hammer the provider.
       */
      readonly cooldownMs?: number;
    };

/** Verifies bearer tokens and turns their claims into a `Principal`. */
export class TokenVerifier {
  private readonly jwks: JWTVerifyGetKey | undefined;
  // Imported once: handing jose the raw bytes would import the key again for every request.
  private readonly key: KeyObject | undefined;
  private readonly maxTtlSeconds: number;
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(private readonly options: VerifierOptions) {
    this.jwks =
      options.kind === 'jwks'
        ? createRemoteJWKSet(new URL(options.url), {
            ...(options.cooldownMs !== undefined ? { cooldownDuration: options.cooldownMs } : {}),
          })
        : undefined;
    this.key = options.kind === 'local' ? createSecretKey(options.secret) : undefined;
    const maxTtl = (options.kind === 'local' ? options.maxTtl : undefined) ?? DEFAULT_MAX_TTL;
    const maxTtlSeconds = durationSeconds(maxTtl);
    if (maxTtlSeconds === undefined) {
      throw new TypeError(`AUTH_MAX_TTL must be a duration such as 12h, not "${maxTtl}".`);
    }
    this.maxTtlSeconds = maxTtlSeconds;
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
          requiredClaims: ['exp', 'iat'],
          // Also refuses an iat in the future, which would stretch the lifetime checked below.
          maxTokenAge: this.maxTtlSeconds,
        }));
      } else {
        ({ payload } = await jwtVerify(token, this.jwks!, {
          issuer: this.options.issuer,
          audience: this.options.audience,
          algorithms: PROVIDER_ALGORITHMS,
          requiredClaims: ['exp'],
        }));
      }
    } catch (error) {
      throw new InvalidTokenError(
        `The bearer token is not valid (${(error as Error).message}); get a new one.`,
        { cause: error },
      );
    }
    // jose has checked that exp (and locally iat) are numbers, present and current.
    const exp = payload.exp!;
    if (this.options.kind === 'local' && exp - payload.iat! > this.maxTtlSeconds) {
      throw new InvalidTokenError(
        'The bearer token lives longer than AUTH_MAX_TTL allows; mint a shorter one (npm run cli -- token --ttl 8h).',
      );
    }
    const roleClaim = (this.options.kind === 'jwks' && this.options.roleClaim) || 'role';
    const societyClaim = (this.options.kind === 'jwks' && this.options.societyClaim) || 'society';
    const { sub } = payload;
    const role = payload[roleClaim];
    const society = payload[societyClaim];
    if (typeof sub !== 'string' || sub === '') {
      throw new InvalidTokenError('The bearer token needs a non-empty sub claim.');
    }
    if (!isRole(role))
      throw new InvalidTokenError(
        `The bearer token's ${roleClaim} claim must be one of the API roles, not ${String(role)}.`,
      );
    if (role === 'society_staff' && !isSocietyCode(society)) {
      throw new InvalidTokenError(
        `A society_staff token must carry a society code such as B33 in its ${societyClaim} claim.`,
      );
    }
    return { principal: principalOf(role, sub, society), expiresAt: exp * 1000 };
  }
}
