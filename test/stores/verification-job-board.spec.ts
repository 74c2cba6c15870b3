import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { PostgresVerificationJobBoard } from '../../src/audit/postgres-verification-job-board';
import { VerificationJobs, type VerificationJobView } from '../../src/audit/verification-jobs';
import { storedLog } from '../../src/event-sourcing';
import { PROJECTIONS } from '../../src/read-models';
import { FixedClock } from '../../src/shared/clock';
import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { PostgresReadModelStore } from '../../src/stores/read-models/postgres-read-model-store';
import { testEvent } from '../support/events';
import { freshSchemaUrl } from '../support/postgres';

// Two instances of the service on one PostgreSQL, each with its own VerificationJobs and board
// connection: a job started through one is answered for by the other, and only one runs.
describe('verification jobs across instances (PostgreSQL board)', () => {
  let url: string;
  let events: PostgresEventStore;
  let readModels: PostgresReadModelStore;
  let boards: PostgresVerificationJobBoard[];
  let instances: VerificationJobs[];
  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    url = await freshSchemaUrl();
    events = new PostgresEventStore({ connectionString: url });
    readModels = new PostgresReadModelStore(url);
    boards = [new PostgresVerificationJobBoard(url), new PostgresVerificationJobBoard(url)];
    instances = boards.map(
      (board) =>
        new VerificationJobs(
          events,
          storedLog(events),
          readModels,
          new FixedClock(new Date('2026-07-01T08:00:00Z')),
          PROJECTIONS,
          board,
        ),
    );
  });
  afterEach(async () => {
    for (const instance of instances) await instance.onModuleDestroy();
    for (const board of boards) await board.close();
    await readModels.close();
    await events.close();
    jest.restoreAllMocks();
  });

  async function settled(
    instance: VerificationJobs,
    id: string,
    timeoutMs = 60_000,
  ): Promise<VerificationJobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await instance.get(id);
      if (job && job.status !== 'running') return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still running`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('one job at a time across instances, answered for by either', async () => {
    for (let stream = 0; stream < 20; stream += 1)
      await events.append(
        `test-${stream}`,
        Array.from({ length: 100 }, () => testEvent()),
      );
    const [first, second] = instances as [VerificationJobs, VerificationJobs];
    const running = await first.start();
    await expect(second.start()).rejects.toMatchObject({
      status: 409,
      extensions: { runningId: running.id },
    });
    // The other instance knows it, running or done.
    expect(await second.get(running.id)).toMatchObject({ id: running.id });
    const done = await settled(second, running.id);
    expect(done).toMatchObject({ status: 'passed', checked: { events: 2000 } });
    // Once it is done, either may start the next.
    const next = await second.start();
    expect((await settled(first, next.id)).status).toBe('passed');
  });

  it('a job whose instance died is reported failed, and does not block the next', async () => {
    const [first, second] = instances as [VerificationJobs, VerificationJobs];
    const stuck: VerificationJobView = {
      id: '00000000-0000-4000-8000-000000000001',
      status: 'running',
      startedAt: '2026-07-01T07:00:00.000Z',
      progress: { done: 10, total: 100 },
      findings: [],
    };
    await boards[0]!.claim(stuck, 15_000);
    // Its instance was killed a minute ago: no heartbeat since.
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(
      "UPDATE verification_jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = $1",
      [stuck.id],
    );
    await client.end();
    expect(await second.get(stuck.id)).toMatchObject({
      status: 'failed',
      findings: [
        {
          source: 'job',
          problem: expect.stringContaining('the instance running this verification stopped'),
        },
      ],
    });
    const next = await first.start();
    expect((await settled(second, next.id)).status).toBe('passed');
  });
});
