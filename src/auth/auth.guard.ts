import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { PersonalDataVault } from '../event-sourcing';
import { ApiProblem } from '../shared/api-problem';
import { Clock } from '../shared/clock';
import type { Principal, Role } from '../shared/principal';
import { TokenVerifier, bearerToken } from './tokens';

export const PUBLIC = 'auth:public';
export const ROLES_KEY = 'auth:roles';

/** Marks a route (health, docs) as open without a token. */
export const Public = () => SetMetadata(PUBLIC, true);

/** The roles that may call a route; others get 403. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** A request after the guard: who is calling, and when the request was received. */
export type AuthenticatedRequest = FastifyRequest & { principal?: Principal; receivedAt?: Date };

/** The authenticated caller, in a handler's parameters. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal) throw new ApiProblem(401, 'UNAUTHENTICATED', 'A bearer token is required.');
    return principal;
  },
);

/**
 * Every route needs a valid bearer token (401 otherwise) unless marked `@Public()`; a route
 * with `@Roles(...)` refuses other roles with 403. Whether a caller may see one particular
 * application or participant (404 when not theirs) is decided by the handler, which knows it.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.receivedAt = this.clock.now();
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      throw new ApiProblem(
        401,
        'UNAUTHENTICATED',
        'Send Authorization: Bearer <token> (npm run cli -- token --role ROLE prints one).',
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    const principal = await this.verifier.verify(token);
    // Students are recognised as "self" by their pseudonym, which their records carry.
    const student = principal.role === 'applicant' || principal.role === 'participant';
    if (student) await this.vault.ready();
    request.principal = student
      ? { ...principal, subjectRef: this.vault.pseudonym(principal.sub) }
      : principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(request.principal.role)) {
      throw new ApiProblem(
        403,
        'FORBIDDEN',
        `The ${request.principal.role} role may not do this; it needs ${roles.join(' or ')}.`,
      );
    }
    return true;
  }
}
