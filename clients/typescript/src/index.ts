import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };

/** Every error of the API: an RFC 9457 problem document with a stable `code`. */
export type Problem = components['schemas']['ProblemDocumentDto'];

export type ProgressClient = Client<paths>;

export type ProgressClientOptions = {
  /** Where the service answers, e.g. `https://progress.example.org`. */
  readonly baseUrl: string;
  /** A bearer token, or a function giving the current one (called for every request). */
  readonly token?: string | (() => string | Promise<string>);
  /** A fetch of your own (tests, proxies); the global one otherwise. */
  readonly fetch?: typeof globalThis.fetch;
};

/**
 * A typed client for the participant progress API: paths, parameters, bodies and answers are the
 * types openapi-typescript generated from the service's OpenAPI document, and errors come back
 * typed as problem documents.
 *
 * ```ts
 * const api = progressClient({ baseUrl, token });
 * const { data, error } = await api.GET('/v1/participants/{participantId}/progress', {
 *   params: { path: { participantId } },
 * });
 * ```
 */
export function progressClient(options: ProgressClientOptions): ProgressClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { token } = options;
  if (token !== undefined)
    client.use({
      async onRequest({ request }) {
        const value = typeof token === 'string' ? token : await token();
        request.headers.set('authorization', `Bearer ${value}`);
        return request;
      },
    });
  return client;
}

/**
 * Every item of a paged list (`{items, nextCursor}`), page after page: `fetchPage` is called with
 * the cursor of the next page (undefined for the first) and returns the page or throws.
 */
export async function* allItems<Item>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: Item[]; nextCursor?: string | null }>,
): AsyncGenerator<Item> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
