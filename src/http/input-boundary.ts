import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { RequestValidationError } from './problem-details';
import {
  type TextProblem,
  checkAndNormaliseStrings,
  hasLineBreakOrTab,
  malformedTextReason,
} from './text';

/**
 * How deep a request body may nest. Our deepest command (a programme with its societies) nests
 * three levels; a body thousands of levels deep is an attack on whatever walks it recursively.
 */
const MAX_JSON_DEPTH = 32;

/** A request body Fastify refuses before any handler: 400 with what is wrong and what to do. */
function badBody(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, code: 'MALFORMED_BODY' });
}

/**
 * The one JSON body parser of the API. Before anything of ours sees a body (the idempotency
 * interceptor hashes it, the validation pipe transforms it), it is:
 * - empty → no body (commands without fields are often sent with a JSON content type);
 * - nested deeper than MAX_JSON_DEPTH → 400, checked on the text before parsing;
 * - parsed by secure-json-parse, Fastify's own, with `__proto__` and `constructor.prototype`
 *   keys refused (400) instead of silently dropped;
 * - checked string by string: a lone surrogate, a control character or a noncharacter anywhere
 *   is 400 naming the field; every other string is stored in its NFC form.
 */
export function installJsonBodyParser(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') {
        done(null, undefined);
        return;
      }
      const depth = nestingDepth(text);
      if (depth > MAX_JSON_DEPTH) {
        done(badBody(`The body nests deeper than ${MAX_JSON_DEPTH} levels; send a flat object.`));
        return;
      }
      let value: unknown;
      try {
        value = secureJson.parse(text, undefined, {
          protoAction: 'error',
          constructorAction: 'error',
        });
      } catch (error) {
        const message = (error as Error).message;
        done(
          badBody(
            /prototype/i.test(message)
              ? 'The body contains a __proto__ or constructor.prototype key, which is never accepted.'
              : `The body is not valid JSON: ${message}.`,
          ),
        );
        return;
      }
      const problems = checkAndNormaliseStrings(value);
      if (problems.length > 0) {
        done(new RequestValidationError(problems));
        return;
      }
      done(null, value);
    },
  );
}

/** The deepest nesting of arrays and objects in JSON text, ignoring brackets inside strings. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (char === 0x7d || char === 0x5d) depth -= 1;
  }
  return deepest;
}

/**
 * Path and query parameters are text too: one with a NUL or a lone surrogate would reach a
 * stream name or a PostgreSQL query (which refuses NUL bytes outright). Checked in Fastify's
 * preValidation hook, before any guard, interceptor or handler of ours runs.
 */
export function installParameterCheck(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    const problems = [
      ...parameterProblems(request.params, 'path parameter'),
      ...parameterProblems(request.query, 'query parameter'),
    ];
    done(problems.length > 0 ? new RequestValidationError(problems) : undefined);
  });
}

function parameterProblems(values: unknown, kind: string): TextProblem[] {
  if (values === null || typeof values !== 'object') return [];
  const problems: TextProblem[] = [];
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== 'string') continue;
      const reason =
        malformedTextReason(item) ??
        (hasLineBreakOrTab(item) ? 'contains a line break or tab' : null);
      if (reason) problems.push({ field: name, message: `${kind} ${name} ${reason}` });
    }
  }
  return problems;
}
