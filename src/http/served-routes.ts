import { type INestApplication, RequestMethod } from '@nestjs/common';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import { DECORATORS } from '@nestjs/swagger';
import { PUBLIC, ROLES_KEY } from '../auth/auth.guard';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import type { Role } from '../shared/principal';

/** One route the running app serves, as its controllers declare it. */
export type ServedRoute = {
  /** `METHOD /path/:param`. */
  readonly key: string;
  readonly method: string;
  /** The path template with Nest's `:param` placeholders. */
  readonly template: string;
  /** What `@Roles(...)` says; undefined: any authenticated role. */
  readonly roles: readonly Role[] | undefined;
  /** `@Public()`: no token needed. */
  readonly isPublic: boolean;
  /** Not `@RouteConfig({ rateLimit: false })`: counted by the rate limit (429). */
  readonly rateLimited: boolean;
  /** Not left out of the OpenAPI document (`@ApiExcludeController`, `@ApiExcludeEndpoint`). */
  readonly documented: boolean;
  /** `IdempotencyInterceptor` among its interceptors (class or handler): takes Idempotency-Key. */
  readonly idempotent: boolean;
};

/**
 * Every route of every controller in the running app, from the metadata Nest routes by
 * (`PATH_METADATA`, `METHOD_METADATA`) and the guard decides by (`@Public`, `@Roles`), so a new
 * controller or handler shows up here without anyone listing it. Routes Fastify serves outside
 * Nest's controllers (`/docs`, `/docs-json`) are not among them.
 */
export function servedRoutes(app: INestApplication): ServedRoute[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  const routes = new Map<string, ServedRoute>();
  for (const wrapper of discovery.getControllers()) {
    const { metatype } = wrapper;
    const instance = wrapper.instance as object | null | undefined;
    if (typeof metatype !== 'function' || !instance) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function') continue;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (paths === undefined || method === undefined) continue;
      const bases = Reflect.getMetadata(PATH_METADATA, metatype) as string | string[] | undefined;
      const targets = [handler, metatype];
      const config = Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) as
        { rateLimit?: unknown } | undefined;
      const excluded =
        (
          Reflect.getMetadata(DECORATORS.API_EXCLUDE_CONTROLLER, metatype) as unknown[] | undefined
        )?.[0] === true ||
        (
          Reflect.getMetadata(DECORATORS.API_EXCLUDE_ENDPOINT, handler) as
            { disable?: boolean } | undefined
        )?.disable === true;
      for (const base of [bases ?? ''].flat())
        for (const path of [paths].flat()) {
          const template = joinPath(base, path);
          const verb = RequestMethod[method];
          const key = `${verb} ${template}`;
          routes.set(key, {
            key,
            method: verb,
            template,
            roles: reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets),
            isPublic: reflector.getAllAndOverride<boolean | undefined>(PUBLIC, targets) === true,
            rateLimited: config?.rateLimit !== false,
            documented: !excluded,
            idempotent: targets.some((target) =>
              (
                (Reflect.getMetadata(INTERCEPTORS_METADATA, target) as unknown[] | undefined) ?? []
              ).includes(IdempotencyInterceptor),
            ),
          });
        }
    }
  }
  return [...routes.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function joinPath(...parts: string[]): string {
  const segments = parts.flatMap((part) => part.split('/')).filter((segment) => segment !== '');
  return `/${segments.join('/')}`;
}

/** An OpenAPI path (`/v1/x/{id}`) as a Nest template (`/v1/x/:id`). */
export function templateOfOpenApiPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}
