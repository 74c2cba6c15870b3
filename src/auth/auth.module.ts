import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { AuthGuard } from './auth.guard';
import { OperatorAccess } from './operator-access';
import { TokenVerifier, loadOrCreateSecret } from './tokens';

/** Token verification for every route (see `AuthGuard`), and the optional checks of `OperatorAccess`. */
@Global()
@Module({
  providers: [
    {
      provide: TokenVerifier,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        config.AUTH_JWKS_URL
          ? new TokenVerifier({
              kind: 'jwks',
              url: config.AUTH_JWKS_URL,
              ...(config.AUTH_ISSUER ? { issuer: config.AUTH_ISSUER } : {}),
              ...(config.AUTH_AUDIENCE ? { audience: config.AUTH_AUDIENCE } : {}),
            })
          : new TokenVerifier({
              kind: 'local',
              secret: loadOrCreateSecret(config.dataDir, config.AUTH_JWT_SECRET),
            }),
    },
    OperatorAccess,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenVerifier, OperatorAccess],
})
export class AuthModule {}
