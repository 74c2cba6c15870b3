import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { openApiDocument } from '../../src/bootstrap';

type Schema = Record<string, unknown>;
type Operation = {
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type Document = { paths: Record<string, Record<string, Operation>>; components?: Schema };

type Route = { method: string; template: string; pattern: RegExp; params: number; op: Operation };

/**
 * Checks every JSON answer a test receives against the OpenAPI document's schema for its route
 * and status (docs/API.md's contract as /docs-json states it), so the document and the code
 * cannot drift apart unnoticed. Answers that are not JSON (SSE, HTML, CSV, XLSX, Prometheus
 * text) and requests to routes the document leaves out (/docs, /metrics, /dashboard) are not
 * checked. The document is the same for every app, so it is built and compiled once per suite.
 */
export class OpenApiAnswers {
  private static shared: OpenApiAnswers | undefined;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv: Ajv;
  private readonly routes: Route[];

  private constructor(document: Document) {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'openapi', components: toJsonSchema(document.components ?? {}) });
    this.routes = Object.entries(document.paths)
      .flatMap(([template, operations]) =>
        Object.entries(operations).map(([method, op]) => ({
          method: method.toUpperCase(),
          template,
          pattern: new RegExp(
            `^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`,
          ),
          params: (template.match(/\{/g) ?? []).length,
          op,
        })),
      )
      // A literal segment wins over a parameter (`/x/new` before `/x/{id}`).
      .sort((a, b) => a.params - b.params);
  }

  static for(app: NestFastifyApplication): OpenApiAnswers {
    OpenApiAnswers.shared ??= new OpenApiAnswers(
      JSON.parse(JSON.stringify(openApiDocument(app))) as Document,
    );
    return OpenApiAnswers.shared;
  }

  /** Throws, naming the route, the status and what does not match, when the answer breaks the document. */
  check(request: InjectOptions, response: LightMyRequestResponse): void {
    const method = (request.method ?? 'GET').toUpperCase();
    if (method === 'HEAD') return;
    const contentType = String(response.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (contentType !== 'application/json' && contentType !== 'application/problem+json') return;
    const url = typeof request.url === 'string' ? request.url : (request.path as string);
    const path = (url ?? '').split('?')[0]!;
    const route = this.routes.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return;
    const where = `${method} ${route.template} answered ${response.statusCode} (${method} ${url})`;
    const documented =
      route.op.responses[String(response.statusCode)] ?? route.op.responses.default;
    if (!documented)
      throw new Error(`OpenAPI drift: ${where}, a status the document does not list`);
    const media = documented.content?.[contentType];
    if (!media?.schema)
      throw new Error(
        `OpenAPI drift: ${where} as ${contentType}; the document gives ${Object.keys(documented.content ?? {}).join(', ') || 'no content'}`,
      );
    const key = `${method} ${route.template} ${response.statusCode} ${contentType}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(rebase(toJsonSchema(media.schema)));
      this.validators.set(key, validate);
    }
    const body: unknown = JSON.parse(response.body);
    if (!validate(body))
      throw new Error(
        `OpenAPI drift: ${where}, the answer does not match its schema:\n${this.ajv.errorsText(validate.errors, { separator: '\n' })}\nanswer: ${response.body.slice(0, 2000)}`,
      );
  }
}

/** OpenAPI 3.0's `nullable` as JSON Schema's `type: [..., 'null']` (enums gain null too). */
function toJsonSchema<T>(value: T): T {
  if (Array.isArray(value)) return value.map(toJsonSchema) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Schema = {};
  for (const [key, inner] of Object.entries(value as Schema)) out[key] = toJsonSchema(inner);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
    if (out.$ref !== undefined || out.allOf !== undefined)
      return { anyOf: [{ ...out }, { type: 'null' }] } as T;
  }
  return out as T;
}

// `#/components/...` inside the document becomes `openapi#/components/...` for a schema of its own.
function rebase<T>(value: T): T {
  if (Array.isArray(value)) return value.map(rebase) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Schema = {};
  for (const [key, inner] of Object.entries(value as Schema))
    out[key] =
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#/')
        ? `openapi${inner}`
        : rebase(inner);
  return out as T;
}
