import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger';
import { ROLES } from '../shared/principal';
import { ERROR_MEANING } from './openapi';
import { type ServedRoute, templateOfOpenApiPath } from './served-routes';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export const PROBLEM_SCHEMA = '#/components/schemas/ProblemDocumentDto';
const PROBLEM_JSON = 'application/problem+json';

/**
 * Applies docs/API.md's conventions to every operation of the document, from what the routes
 * declare to the guard and the router (served-routes.ts), so that a new route cannot leave them
 * out and a decorator cannot contradict them:
 * - security: `[]` on `@Public()` routes, the bearer scheme on every other;
 * - 401 on secured routes; 403 where `@Roles` leaves a role out;
 * - 400 everywhere (a path or query parameter that is not well-formed text is refused before any
 *   handler; query DTOs and bodies add unknown fields, wrong types and formats);
 * - 404 and 414 (too long) where the path names something; 413 and 415 where a body may come; 409 and 422 where an
 *   Idempotency-Key is taken (in flight, or used with another body); 429 where the rate limit counts; 500 (a bug) and 503 (a
 *   store that does not answer, minPosition not reached, shutting down, with Retry-After)
 *   everywhere;
 * - every error answer is `application/problem+json` with the problem document's schema,
 *   whatever content type a decorator gave it;
 * - the roles that may call it, in the description.
 * Throws when the document names a route that is not served, or a served route is not documented
 * (controllers can leave themselves out with `@ApiExcludeController`).
 */
export function applyApiConventions(
  document: OpenAPIObject,
  routes: readonly ServedRoute[],
): OpenAPIObject {
  const byKey = new Map(routes.map((route) => [route.key, route]));
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const key = `${method.toUpperCase()} ${templateOfOpenApiPath(path)}`;
      const route = byKey.get(key);
      if (!route) throw new Error(`OpenAPI: ${key} is documented but not served`);
      documented.add(key);
      applyToOperation(operation, route);
    }
  }
  const missing = routes.filter((route) => route.documented && !documented.has(route.key));
  if (missing.length > 0)
    throw new Error(`OpenAPI: served but not documented: ${missing.map((r) => r.key).join(', ')}`);
  return document;
}

function applyToOperation(operation: OperationObject, route: ServedRoute): void {
  const parameters = (operation.parameters ?? []).filter(isParameter);
  operation.security = route.isPublic ? [] : [{ bearer: [] }];
  const statuses = new Set<number>(
    Object.keys(operation.responses)
      .map(Number)
      .filter((status) => status >= 400),
  );
  statuses.add(400);
  if (!route.isPublic) statuses.add(401);
  if (route.roles && route.roles.length < ROLES.length) statuses.add(403);
  // Fastify's router refuses a path parameter over 100 characters (414) before any handler.
  if (parameters.some((parameter) => parameter.in === 'path')) {
    statuses.add(404);
    statuses.add(414);
  }
  // A request body is parsed by Fastify before any handler: too large, or not JSON.
  if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
    statuses.add(413);
    statuses.add(415);
  }
  // The same Idempotency-Key with another body, or while its first request is still running.
  if (
    parameters.some(
      (parameter) => parameter.in === 'header' && parameter.name === 'Idempotency-Key',
    )
  ) {
    statuses.add(409);
    statuses.add(422);
  }
  if (route.rateLimited) statuses.add(429);
  statuses.add(500);
  statuses.add(503);
  for (const status of [...statuses].sort()) {
    const given: ResponseObject | ReferenceObject | undefined = operation.responses[status];
    const description =
      given && 'description' in given && given.description && given.description !== ''
        ? given.description
        : (ERROR_MEANING[status] ?? 'error');
    operation.responses[status] = {
      description,
      ...(status === 429 || status === 503
        ? {
            headers: {
              'Retry-After': {
                description: 'seconds to wait before retrying',
                schema: { type: 'integer' },
              },
            },
          }
        : {}),
      content: { [PROBLEM_JSON]: { schema: { $ref: PROBLEM_SCHEMA } } },
    };
  }
  const who = route.isPublic
    ? 'No token needed.'
    : route.roles
      ? `Roles: ${route.roles.join(', ')}.`
      : 'Roles: any.';
  operation.description = operation.description ? `${operation.description}\n\n${who}` : who;
}

function isParameter(value: ParameterObject | ReferenceObject): value is ParameterObject {
  return !('$ref' in value);
}
