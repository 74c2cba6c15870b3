import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { PROJECTIONS } from '../read-models';
import { FixedClock } from '../shared/clock';
import { SqliteReadModelStore } from '../stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import { storedLog } from '../event-sourcing';
import { testEvent } from '../../test/support/events';
import { InMemoryJobBoard } from './verification-job-board';
import {
  KEPT_FINISHED_JOBS,
  VerificationJobs,
  type VerificationJobView,
} from './verification-jobs';

// Real embedded stores in a temporary folder; the HTTP side is in test/e2e/audit.e2e-spec.ts.
describe('VerificationJobs', () => {
  let dir: string;
  let events: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  let jobs: VerificationJobs;
  beforeEach(() => {
    // The jobs log why they stopped; these tests provoke that on purpose.
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    dir = mkdtempSync(join(tmpdir(), 'verification-jobs-'));
    events = new SqliteEventStore({ fileName: join(dir, 'events.sqlite') });
    readModels = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
    jobs = new VerificationJobs(
      events,
      storedLog(events),
      readModels,
      new FixedClock(new Date('2026-07-01T08:00:00Z')),
      PROJECTIONS,
      new InMemoryJobBoard(),
    );
  });
  afterEach(async () => {
    await jobs.onModuleDestroy();
    await readModels.close();
    await events.close();
    rmSync(dir, { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  async function settled(id: string): Promise<VerificationJobView> {
    for (;;) {
      const job = (await jobs.get(id))!;
      if (job.status !== 'running') return job;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('given a store that fails, then the job is failed with a finding saying so, and nothing rejects unhandled', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await events.close();
      const job = await settled((await jobs.start()).id);
      expect(job.status).toBe('failed');
      expect(job.finishedAt).toBe('2026-07-01T08:00:00.000Z');
      expect(job.findings).toEqual([
        {
          source: 'job',
          problem: expect.stringMatching(/^the verification stopped before it finished \(.+\)/),
        },
      ]);
      // The next one may start: a failed job does not stay "running".
      await expect(jobs.start()).resolves.toMatchObject({ status: 'running' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it(`keeps the last ${KEPT_FINISHED_JOBS} finished jobs and forgets older ones`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < KEPT_FINISHED_JOBS + 1; i += 1) {
      const { id } = await jobs.start();
      expect((await settled(id)).status).toBe('passed');
      ids.push(id);
    }
    expect(await jobs.get(ids[0]!)).toBeUndefined();
    for (const id of ids.slice(1)) expect((await jobs.get(id))?.status).toBe('passed');
  });

  it('refuses a second job while one runs, and stops a running job when the service shuts down', async () => {
    for (let stream = 0; stream < 30; stream += 1)
      await events.append(
        `test-${stream}`,
        Array.from({ length: 100 }, () => testEvent()),
      );
    const running = await jobs.start();
    await expect(jobs.start()).rejects.toMatchObject({
      status: 409,
      extensions: { runningId: running.id },
    });
    await jobs.onModuleDestroy();
    const job = (await jobs.get(running.id))!;
    expect(job.status).toBe('failed');
    expect(job.findings).toEqual([
      expect.objectContaining({
        source: 'job',
        problem: expect.stringContaining('the service is shutting down'),
      }),
    ]);
  });
});
