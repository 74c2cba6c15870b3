import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig, ConfigError } from '../config/app-config';
import { AuthGuard } from './auth.guard';
import { OperatorAccess } from './operator-access';
import { TokenVerifier, loadOrCreateSecret } from './tokens';

/** The verifier the settings ask for: an OpenID Connect provider's keys, or the local secret. */
export function verifierFor(config: AppConfig): TokenVerifier {
  if (config.AUTH_JWKS_URL === undefined) {
    return new TokenVerifier({
      kind: 'local',
      secret: loadOrCreateSecret(config.dataDir, config.AUTH_JWT_SECRET),
      maxTtl: config.AUTH_MAX_TTL,
    });
  }
  // loadConfig requires both with AUTH_JWKS_URL; checked again so no token is ever accepted
  // without an issuer and audience bound to it, however the settings were built.
  if (config.AUTH_ISSUER === undefined || config.AUTH_AUDIENCE === undefined) {
    throw new ConfigError(
      'Configuration error: AUTH_ISSUER and AUTH_AUDIENCE must be set when AUTH_JWKS_URL is set.',
    );
  }
  return new TokenVerifier({
    kind: 'jwks',
    url: config.AUTH_JWKS_URL,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    roleClaim: config.AUTH_ROLE_CLAIM,
    societyClaim: config.AUTH_SOCIETY_CLAIM,
  });
}

/** Token verification for every route (see `AuthGuard`). */
@Global()
@Module({
  providers: [
    { provide: TokenVerifier, inject: [AppConfig], useFactory: verifierFor },
    OperatorAccess,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenVerifier, OperatorAccess],
})
export class AuthModule {}
