import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { Role } from '../shared/principal';
import { TokenVerifier, bearerToken } from './tokens';

/** The roles that may read readiness details (store errors, positions, lag). */
const HEALTH_DETAIL_ROLES: readonly Role[] = ['auditor', 'programme_admin'];

/**
 * Compares a presented secret with the expected one in a time that does not depend on where they
 * differ. Both are hashed first because `timingSafeEqual` needs equal lengths, and comparing the
 * lengths directly would itself reveal the expected secret's length.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Who may see the operational surfaces that stay open without a login (health, metrics): the
 * metrics token, when one is configured, and readiness details for auditors and programme
 * admins. These routes are `@Public()`, so the caller's token is checked here, optionally.
 */
@Injectable()
export class OperatorAccess {
  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
  ) {}

  /** True when METRICS_TOKEN is unset, or the header carries exactly it. */
  mayScrapeMetrics(authorization: string | undefined): boolean {
    const expected = this.config.METRICS_TOKEN;
    if (expected === undefined) return true;
    const token = bearerToken(authorization);
    return token !== undefined && sameSecret(token, expected);
  }

  /**
   * True for the metrics token (when set) and for a valid auditor or programme_admin token.
   * Anything else, an invalid token included, sees only the status: a load balancer's probe
   * must not turn into a 401 because of a stale header.
   */
  async mayReadHealthDetails(authorization: string | undefined): Promise<boolean> {
    const token = bearerToken(authorization);
    if (token === undefined) return false;
    if (this.config.METRICS_TOKEN !== undefined && sameSecret(token, this.config.METRICS_TOKEN))
      return true;
    try {
      const principal = await this.verifier.verify(token);
      return HEALTH_DETAIL_ROLES.includes(principal.role);
    } catch {
      return false;
    }
  }
}
