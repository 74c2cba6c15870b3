import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';

const P = 'cast-dtdp-2025';

type Event = { event: string; id: string | undefined; data: { position: number } };

/** An open `text/event-stream` answer over a real socket, its events parsed as they come. */
type Stream = {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly events: Event[];
  /** Resolves with the first event (past those already read) that `match` accepts. */
  next(match: (event: Event) => boolean, timeoutMs?: number): Promise<Event>;
  /** Resolves once the server has ended the answer. */
  readonly ended: Promise<void>;
  close(): void;
};

function openStream(base: string, path: string, headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        const events: Event[] = [];
        const waiting = new Set<() => void>();
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = new Map<string, string>();
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':');
              if (colon <= 0) continue;
              fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
            }
            if (!fields.has('data')) continue;
            events.push({
              event: fields.get('event') ?? 'message',
              id: fields.get('id'),
              data: JSON.parse(fields.get('data')!),
            });
            for (const wake of [...waiting]) wake();
          }
        });
        const ended = new Promise<void>((done) => res.on('close', () => done()));
        let read = 0;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          ended,
          next: (match, timeoutMs = 2000) =>
            new Promise((found, fail) => {
              const look = () => {
                while (read < events.length) {
                  const event = events[read++]!;
                  if (match(event)) {
                    clearTimeout(timer);
                    waiting.delete(look);
                    found(event);
                    return;
                  }
                }
              };
              const timer = setTimeout(() => {
                waiting.delete(look);
                fail(
                  new Error(`no matching event within ${timeoutMs} ms: ${JSON.stringify(events)}`),
                );
              }, timeoutMs);
              waiting.add(look);
              look();
            }),
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe.each<StoreKind>(['sqlite', 'postgres'])(
  'GET /v1/programmes/:id/changes, server-sent events (%s)',
  (kind) => {
    let t: TestApp;
    let base: string;
    const open: Stream[] = [];
    beforeAll(async () => {
      t = await startApp(await freshEnv(kind));
      await t.app.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    }, 30_000);
    afterAll(async () => {
      for (const stream of open) stream.close();
      await t?.close();
    });
    const stream = async (path: string, headers: Record<string, string>) => {
      const opened = await openStream(base, path, headers);
      open.push(opened);
      return opened;
    };
    const apply = async (sub: string) => {
      const response = await t.request({
        method: 'POST',
        url: `/v1/programmes/${P}/applications`,
        headers: { 'content-type': 'application/json', ...(await t.auth('applicant', { sub })) },
        payload: JSON.stringify(eligibleForm),
      });
      expect(response.statusCode).toBe(201);
      return response.json<{ position: number }>().position;
    };

    it('sends the current position at once, then each new one within 2 s of a command', async () => {
      const before = await apply('student-sse-1');
      const changes = await stream(
        `/v1/programmes/${P}/changes?minPosition=${before}`,
        await t.auth('dashboard'),
      );
      expect(changes.status).toBe(200);
      expect(changes.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(changes.headers['cache-control']).toBe('no-store');
      const first = await changes.next(() => true);
      expect(first.event).toBe('position');
      expect(first.data.position).toBeGreaterThanOrEqual(before);
      expect(first.id).toBe(String(first.data.position));

      const started = Date.now();
      const position = await apply('student-sse-2');
      const moved = await changes.next((event) => event.data.position >= position, 2000);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(moved.data).toEqual({ position: moved.data.position });
    });

    it('scoped like the dashboard: staff to their own society; the same roles', async () => {
      const staffA = await t.auth('society_staff', { society: 'A01', sub: 'staff-A01' });
      const own = await stream(`/v1/programmes/${P}/changes`, staffA);
      expect(own.status).toBe(200);
      await own.next(() => true);
      own.close();
      for (const [headers, status] of [
        [staffA, 403], // staff of another society asking for B33
        [await t.auth('participant', { sub: 'student-sse-1' }), 403],
        [{}, 401],
      ] as const) {
        const refused = await t.request({
          method: 'GET',
          url: `/v1/programmes/${P}/changes?society=B33`,
          headers: { accept: 'text/event-stream', ...headers },
        });
        expect(refused.statusCode).toBe(status);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      const missing = await t.request({
        method: 'GET',
        url: '/v1/programmes/no-such-programme/changes',
        headers: { accept: 'text/event-stream', ...(await t.auth('programme_admin')) },
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
      const bad = await t.request({
        method: 'GET',
        url: `/v1/programmes/${P}/changes?society=b33&minPosition=-1`,
        headers: { accept: 'text/event-stream', ...(await t.auth('programme_admin')) },
      });
      expect(bad.statusCode).toBe(400);
      expect(
        bad
          .json<{ errors: Array<{ field: string }> }>()
          .errors.map((e) => e.field)
          .sort(),
      ).toEqual(['minPosition', 'society']);
    });

    it('without Accept: text/event-stream, the current position once, as JSON', async () => {
      const position = await apply('student-sse-3');
      const response = await t.request({
        method: 'GET',
        url: `/v1/programmes/${P}/changes?minPosition=${position}&society=B33`,
        headers: await t.auth('society_staff', { society: 'B33' }),
      });
      expect(response.statusCode).toBe(200);
      const body = response.json<{ position: number }>();
      expect(body).toEqual({ programmeId: P, society: 'B33', position: body.position });
      expect(body.position).toBeGreaterThanOrEqual(position);
    });

    it('closing the app ends the streams still open (a wall screen never hangs up)', async () => {
      const other = await startApp(await freshEnv(kind));
      try {
        await other.app.listen(0, '127.0.0.1');
        const port = (other.app.getHttpServer().address() as AddressInfo).port;
        // Read-your-writes on the seeded programme: a fresh app may not have projected it yet,
        // and would answer 404 (no stream) to a request that came first.
        const head = await other.store.headPosition();
        const changes = await openStream(
          `http://127.0.0.1:${port}`,
          `/v1/programmes/${P}/changes?minPosition=${head}`,
          await other.auth('programme_admin'),
        );
        open.push(changes);
        expect(changes.status).toBe(200);
        await changes.next(() => true);
      } finally {
        const started = Date.now();
        await other.close();
        expect(Date.now() - started).toBeLessThan(5000);
      }
      await open.at(-1)!.ended;
    });
  },
);
