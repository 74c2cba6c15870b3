import { participantStream } from '../../src/participants/domain/participant';
import { enrolParticipant } from '../support/participants';
import { freshEnv, startApp, type TestApp } from '../support/app';

/**
 * One command, one read of its stream: the access check, If-Match and the decision all work on
 * the state `handleCommand` folded. Counted with a wrapper around the real store's readStream.
 */
describe('stream reads per command', () => {
  let t: TestApp;
  let reads: string[];
  let participantId: string;
  beforeEach(async () => {
    t = await startApp(await freshEnv('sqlite'));
    participantId = await enrolParticipant(t, { today: '2026-06-15T10:00:00+08:00' });
    const readStream = t.store.readStream.bind(t.store);
    reads = [];
    jest.spyOn(t.store, 'readStream').mockImplementation((streamName, options) => {
      reads.push(streamName);
      return readStream(streamName, options);
    });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await t.close();
  });

  const post = async (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    t.request({
      method: 'POST',
      url,
      headers: {
        ...(await t.auth('society_staff', { society: 'B33', sub: 'staff-B33' })),
        'content-type': 'application/json',
        ...headers,
      },
      payload: JSON.stringify(payload),
    });

  it('reads the participant stream once for each participant command, refused or not', async () => {
    const stream = participantStream(participantId);
    const base = `/v1/participants/${participantId}`;
    const logged = await post(`${base}/activities`, {
      pillar: 'social',
      category: 'other_social',
      title: 'Journal assistant',
      occurredOn: '2026-03-02',
      hours: 4,
    });
    expect(logged.statusCode).toBe(201);
    const { activityId } = logged.json<{ activityId: string }>();
    const etag = logged.headers.etag as string;
    expect(reads.filter((name) => name === stream)).toHaveLength(1);

    for (const [url, body, headers, status] of [
      [`${base}/activities/${activityId}/verification`, {}, { 'if-match': etag }, 200],
      [`${base}/activities/${activityId}/verification`, {}, { 'if-match': etag }, 409],
      [`${base}/reviews`, { period: '2026-H1', rating: 'satisfactory' }, {}, 201],
      [`${base}/completion`, {}, {}, 422],
    ] as const) {
      reads = [];
      const response = await post(url, body, headers);
      expect(response.statusCode).toBe(status);
      expect(reads).toEqual([stream]);
    }
  });
});
