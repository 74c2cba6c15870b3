import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { TokenVerifier, bearerToken } from '../auth/tokens';
import { ApiProblem } from '../shared/api-problem';

/**
 * Limits every route to `perMinute` requests per caller and minute (429 problem+json with
 * Retry-After beyond it). Routes that opt out with `@RouteConfig({ rateLimit: false })` (health,
 * metrics) are not counted. Must run before the routes are registered, i.e. before `init()`.
 *
 * A caller is the verified token's subject, so that one user is one budget whatever address
 * they come from. Keying on the `sub` claim without verifying the signature would let anyone
 * mint a fresh subject per request and never be limited; a token that does not verify counts
 * against the client's address instead, like a request without one. Verified tokens are cached
 * by `TokenVerifier`, so the guard's own verification of the same token costs a map lookup.
 */
export async function limitRequestRate(
  app: NestFastifyApplication,
  perMinute: number,
): Promise<void> {
  const verifier = app.get(TokenVerifier);
  const callerKey = async (request: FastifyRequest): Promise<string> => {
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined) {
      try {
        return `sub:${(await verifier.verify(token)).sub}`;
      } catch {
        // Not a valid token: the guard answers 401 later; meanwhile it counts for the address.
      }
    }
    // IPv6 clients are grouped by /64, which one of them typically controls whole.
    return `ip:${normalizeIP(request.ip)}`;
  };
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: callerKey,
    // Thrown into Nest's exception layer, so the 429 is a problem document like every error.
    errorResponseBuilder: (_request, context) =>
      new ApiProblem(
        429,
        'RATE_LIMITED',
        `More than ${context.max} requests in a minute; retry in ${context.after}.`,
        { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      ),
  });
}
