// Sign-in and the API, as the pages use them. The token lives in this tab's session storage
// only; every figure comes from the API with it, so the API's roles and scoping apply unchanged.

const TOKEN_KEY = 'dashboard.token';

/** What the page reads from the token to choose its views; the API decides what it may see. */
export type Claims = { readonly role: string; readonly sub: string; readonly society?: string };

/**
 * `/dashboard#token=...` (wall screens): the fragment never reaches the server; it is moved to
 * session storage and removed from the address bar and the history entry.
 */
export function takeTokenFromFragment(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]).trim());
  history.replaceState(history.state, '', location.pathname + location.search);
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/**
 * The token's claims, unverified (the server verifies it), read with the claim names the service
 * uses (a provider's may differ); null when it is not a JWT with a role.
 */
export function claimsOf(
  value: string | null,
  names: { roleClaim: string; societyClaim: string } = {
    roleClaim: 'role',
    societyClaim: 'society',
  },
): Claims | null {
  const payload = value?.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as Record<string, unknown>;
    const role = claims[names.roleClaim];
    const society = claims[names.societyClaim];
    if (typeof role !== 'string') return null;
    return {
      role,
      sub: typeof claims.sub === 'string' ? claims.sub : '',
      ...(typeof society === 'string' ? { society } : {}),
    };
  } catch {
    return null;
  }
}

/** A problem document (RFC 9457) the API answered with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string | undefined,
  ) {
    super(detail ?? title);
  }
}

/** An answer: its body and, for a participant's progress, the ETag to send back as If-Match. */
export type Answer<T> = { readonly body: T; readonly etag: string | null };

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token.get() ?? ''}`,
      accept: 'application/json',
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  const body: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const problem = (body ?? {}) as { title?: string; detail?: string };
    throw new ApiError(response.status, problem.title ?? response.statusText, problem.detail);
  }
  return { body: body as T, etag: response.headers.get('etag') };
}

/** A path with its query string, leaving out parameters that are undefined or empty. */
export function withQuery(
  path: string,
  query: Record<string, string | number | undefined>,
): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Every page of a list (`{items, nextCursor}`), in order. */
export async function allPages<T>(
  path: string,
  query: Record<string, string | number | undefined>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<{ items: T[]; nextCursor: string | null }>(
      withQuery(path, { ...query, limit: 500, cursor }),
    );
    items.push(...page.body.items);
    cursor = page.body.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/**
 * Follows `GET /v1/programmes/:id/changes` (server-sent events). EventSource cannot send an
 * Authorization header, so the stream is read with fetch; it reconnects a second after it drops.
 * Returns what stops it.
 */
export function followChanges(
  programmeId: string,
  society: string | undefined,
  onPosition: (position: number) => void,
  onState: (live: boolean) => void,
): () => void {
  const controller = new AbortController();
  const url = withQuery(`/v1/programmes/${encodeURIComponent(programmeId)}/changes`, { society });
  const connect = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(url, {
          headers: { authorization: `Bearer ${token.get() ?? ''}`, accept: 'text/event-stream' },
          signal: controller.signal,
        });
        if (!response.ok || !response.body) throw new Error(`changes: ${response.status}`);
        onState(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (/^event: position$/m.test(block) && data) {
              const { position } = JSON.parse(data) as { position: number };
              onPosition(position);
            }
          }
        }
      } catch {
        // Dropped or refused: shown as not live, tried again below.
      }
      if (controller.signal.aborted) return;
      onState(false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void connect();
  return () => controller.abort();
}
