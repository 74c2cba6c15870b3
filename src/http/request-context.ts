import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { type CommandContext, commandContext } from '../shared/command-context';
import { ApiProblem } from '../shared/api-problem';

/** The command context of a request: the caller, a correlation id and the clock, read once. */
export const RequestContext = createParamDecorator(
  (_data: unknown, execution: ExecutionContext): CommandContext => {
    const request = execution.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!request.principal)
      throw new ApiProblem(401, 'UNAUTHENTICATED', 'A bearer token is required.');
    const header = request.headers['x-correlation-id'];
    const correlationId =
      typeof header === 'string' && /^[\w.:-]{1,100}$/.test(header) ? header : undefined;
    return commandContext(request.principal, correlationId, request.receivedAt);
  },
);
