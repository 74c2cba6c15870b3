/**
 * Projections benchmark. A generated cohort (10,000 participants, ~1,000,000 events at
 * BENCH_SCALE=1) in the embedded store, once in plaintext and once sealed (personal fields
 * encrypted, as the service writes them); then the rebuild of every read model from each
 * (events/s, peak RSS, in a child process); then query latency in-process and over HTTP with 50
 * concurrent clients, next to a bare NestJS endpoint on the same adapter and to the same
 * queries answered from the sealed log's read models.
 *
 *   npm run bench:projections
 *   BENCH_SCALE=0.05 npm run bench:projections
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Controller, Get, Module } from '@nestjs/common';
import Database from 'better-sqlite3';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type autocannon from 'autocannon';
import { participantIdFor } from '../src/participants/commands/enrol-participant';
import { mintToken } from '../src/auth/tokens';
import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import {
  type EventMetadata,
  type NewEvent,
  PersonalDataVault,
  SealingEventStore,
} from '../src/event-sourcing';
import { PERSONAL_DATA_POLICY } from '../src/personal-data';
import { STUDENT_ROLES } from '../src/stores/event-store.module';
import { SqliteSubjectKeyStore } from '../src/stores/keys/sqlite-subject-key-store';
import { dashboardFigures } from '../src/dashboard/dashboard.query';
import { ReadModels } from '../src/projections/read-models';
import { progressView } from '../src/participants/queries/progress.view';
import type { ProgressDoc } from '../src/participants/queries/progress.projection';
import { DTDP_2025, type ProgrammeRules } from '../src/programmes/domain/programme';
import { SqliteReadModelStore } from '../src/stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';
import { printBenchLines, report, scaled, SCALE, subjectOf } from './bench-kit';
import { logTreeHead } from '../src/audit/digest';
import { storedLog, verifyChains } from '../src/event-sourcing';
import { progressAsOf } from '../src/participants/queries/as-of';
import { PROJECTIONS } from '../src/read-models';
import { verifyReadModels } from '../src/projections/verify-read-models';
import { UpcastingEventStore } from '../src/event-sourcing';
import { EVENT_SCHEMAS } from '../src/event-schemas';
import { timelinePage } from '../src/participants/queries/timeline-page';

const run = promisify(execFile);
const PARTICIPANTS = scaled(10_000, 50);
const ACTIVITIES = 47; // logged + verified each: with enrolment and reviews, ~100 events per participant
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const SECRET = 'bench-secret-that-is-long-enough-for-hs256-000000';
const SOCIETIES = Array.from({ length: 20 }, (_, i) => ({
  code: `S${String(i).padStart(2, '0')}`,
  name: `Society ${i}`,
}));
const PROGRAMME: ProgrammeRules = {
  ...DTDP_2025,
  programmeId: 'bench-2025',
  recommendationQuota: 100_000,
  societies: SOCIETIES,
};
const metadata: EventMetadata = {
  actor: { sub: 'bench', role: 'programme_admin' },
  correlationId: 'bench',
  causationId: null,
  schemaVersion: 1,
};
const event = (type: string, data: Record<string, unknown>): NewEvent => ({
  type,
  data: data as NewEvent['data'],
  metadata,
});

/**
 * Generates the cohort's log twice, the same events into each: in plaintext into
 * DATA_DIR/events.sqlite, and through the sealing store the service writes through into
 * `sealedDir`/events.sqlite (personal fields sealed under each student's key, kept in
 * `sealedDir`/keys.sqlite as in production, created on each student's first event).
 */
async function generate(
  dataDir: string,
  sealedDir: string,
): Promise<{ events: number; participantIds: string[] }> {
  const store = new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') });
  const keys = new SqliteSubjectKeyStore(join(sealedDir, 'keys.sqlite'));
  const sealedStore = new SealingEventStore(
    new SqliteEventStore({ fileName: join(sealedDir, 'events.sqlite') }),
    await PersonalDataVault.open(keys, { keyCacheMs: 30_000 }),
    PERSONAL_DATA_POLICY,
    STUDENT_ROLES,
  );
  let count = 0;
  const append = async (stream: string, events: NewEvent[]) => {
    await store.append(stream, events);
    await sealedStore.append(stream, events);
    count += events.length;
  };
  await append(`programme-${PROGRAMME.programmeId}`, [event('ProgrammeDefined', PROGRAMME)]);
  const participantIds: string[] = [];
  const pending: Array<Promise<void>> = [];
  for (let p = 0; p < PARTICIPANTS; p += 1) {
    const applicationId = `0199cccc-0000-7000-8000-${String(p).padStart(12, '0')}`;
    const participantId = participantIdFor(applicationId);
    participantIds.push(participantId);
    const society = SOCIETIES[p % SOCIETIES.length]!.code;
    // The student's pseudonym, on every event with personal data about them (the new schema).
    const { subjectRef } = subjectOf(p);
    const ref = {
      applicationId,
      programmeId: PROGRAMME.programmeId,
      societyCode: society,
      subjectRef,
    };
    const writes = async () => {
      await append(`application-${applicationId}`, [
        event('ApplicationSubmitted', {
          applicationId,
          programmeId: PROGRAMME.programmeId,
          subjectRef,
          applicantSub: `student-${p}`,
          submittedAt: '2025-11-10T02:00:00.000Z',
          submittedOn: '2025-11-10',
          fullName: `Student ${p}`,
          nationality: 'CN',
          enrolmentType: 'full_time',
          degreeLevel: 'doctoral',
          institution: 'Institute',
          expectedGraduationDate: '2028-07-01',
          researchField: 'rare earths',
          preferredSocietyCode: society,
          eligibility: { eligible: true, checks: [] },
        }),
      ]);
      await append(`selection-${PROGRAMME.programmeId}-${society}-${p}`, [
        event('CandidateRecommended', { ...ref, note: null }),
        event('CandidateMatched', { ...ref, mentoringSocietyCode: society }),
      ]);
      const participantEvents: NewEvent[] = [
        event('ParticipantEnrolled', {
          participantId,
          applicationId,
          programmeId: PROGRAMME.programmeId,
          subjectRef,
          fullName: `Student ${p}`,
          societyCode: society,
          mentoringSocietyCode: society,
          startDate: '2026-01-01',
          windowEnd: '2028-01-01',
          requiredHours: 240,
          timeZone: 'Asia/Shanghai',
        }),
      ];
      for (let a = 0; a < ACTIVITIES; a += 1) {
        const activityId = `0199dddd-0000-7000-8000-${String(a).padStart(12, '0')}`;
        const day = `2026-${String(1 + (a % 10)).padStart(2, '0')}-${String(1 + (a % 27)).padStart(2, '0')}`;
        participantEvents.push(
          event('ActivityLogged', {
            participantId,
            activityId,
            subjectRef,
            pillar: 'social',
            category: 'other_social',
            title: 'Activity',
            occurredOn: day,
            endedOn: null,
            // The first activity's hours differ for each participant of a society, so that no two
            // have the same verified total: the dashboard reads pace once per distinct total.
            hours: a === 0 ? 1 + (Math.floor(p / SOCIETIES.length) % 1000) / 100 : 1 + (p % 4),
            evidence: null,
          }),
          event('ActivityVerified', { participantId, activityId }),
        );
      }
      participantEvents.push(
        event('ProgressReviewed', {
          participantId,
          subjectRef,
          period: '2026-H1',
          rating: 'satisfactory',
          note: null,
        }),
      );
      await append(`participant-${participantId}`, participantEvents);
    };
    pending.push(writes());
    if (pending.length === 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await store.close();
  await sealedStore.close();
  await keys.close();
  return { events: count, participantIds };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// Latency of `work`, run `count` times one after another: p50 and p99 in microseconds.
async function measure(
  name: string,
  count: number,
  work: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = process.hrtime.bigint();
    await work(i);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 50) * 1000;
  const p99 = percentile(times, 99) * 1000;
  report({ name: `${name}.p50`, value: p50, unit: 'us' });
  report({ name: `${name}.p99`, value: p99, unit: 'us' });
  return { p50, p99 };
}

async function inProcess(dataDir: string, participantIds: string[]): Promise<void> {
  const readModels = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
  const id = (i: number) => participantIds[(i * 7919) % participantIds.length]!;
  await measure('inprocess.progress', 2000, async (i) =>
    progressView((await readModels.get('progress', id(i))) as ProgressDoc, '2026-11-27'),
  );
  // The references in the read model, then their events from the log, as the route reads them.
  const events = new UpcastingEventStore(
    new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') }),
    EVENT_SCHEMAS,
  );
  const typed = new ReadModels(readModels);
  await measure('inprocess.timeline_first_page', 2000, (i) =>
    timelinePage(typed, events, id(i), 50),
  );
  await events.close();
  // What the dashboard route computes for one society (its cache aside: every call computes),
  // through the same function, as programme_admin sees it (no small-cell suppression).
  const today = new Date('2026-11-27T04:00:00.000Z');
  // 1,000 calls, as for the other in-process lines: with 50 (until 2026-12-02), the p99 was the
  // slowest call, the first one, which prepares its statements and reads cold pages.
  await measure('inprocess.dashboard_society', 1000, () =>
    dashboardFigures(typed, PROGRAMME, 'S01', 1, today),
  );
  // Headquarters' view: every society's totals (all 10,000 participants at BENCH_SCALE=1).
  await measure('inprocess.dashboard_programme', 1000, () =>
    dashboardFigures(typed, PROGRAMME, undefined, 1, today),
  );
  await readModels.close();
}

@Controller('bare')
class BareController {
  @Get()
  get() {
    return { ok: true };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

// The load comes from another process (autocannon's CLI), so the server keeps its core.
async function load(url: string, headers: Record<string, string>): Promise<autocannon.Result> {
  const duration = Math.max(3, Math.round(10 * Math.min(1, SCALE * 2)));
  const args = [
    require.resolve('autocannon/autocannon.js'),
    '-c',
    '50',
    '-d',
    String(duration),
    '-j',
  ];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  const { stdout } = await run(process.execPath, [...args, url], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as autocannon.Result;
}

// Audit work on the same log: verification and digests (events/s, next to reading the log
// alone), and as-of answers folded from a participant's stream next to the live read model.
async function audit(dataDir: string, participantIds: string[], readOnly: number): Promise<void> {
  const events = new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') });
  const readModels = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
  try {
    const head = await events.headPosition();
    const timed = async (name: string, work: () => Promise<void>, note: string) => {
      const started = process.hrtime.bigint();
      await work();
      const perSecond = head / (Number(process.hrtime.bigint() - started) / 1e9);
      report({ name: `audit.${name}.events_per_s`, value: perSecond, unit: 'events/s', note });
      report({ name: `ratio.audit.${name}_vs_read_only`, value: perSecond / readOnly, unit: 'x' });
    };
    await timed(
      'hash_chains',
      async () => {
        const found = await verifyChains(storedLog(events));
        if (found.problems.length > 0) throw new Error('the generated log does not verify');
      },
      'every hash recomputed, chains, stream heads',
    );
    await timed(
      'digest',
      async () => {
        await logTreeHead(storedLog(events));
      },
      'RFC 9162 root over hashes recomputed from content',
    );
    await timed(
      'read_models',
      async () => {
        const found = await verifyReadModels(events, readModels, PROJECTIONS);
        if (found.problems.length > 0) throw new Error('the read models do not verify');
      },
      'replay of 4 read models into scratch tables and row-by-row comparison',
    );
    const id = (i: number) => participantIds[(i * 7919) % participantIds.length]!;
    const live = await measure('inprocess.progress_live', 1000, async (i) =>
      progressView((await readModels.get('progress', id(i))) as ProgressDoc, '2026-06-30'),
    );
    const asOf = await measure('inprocess.progress_as_of', 1000, async (i) => {
      const doc = progressAsOf(id(i), await events.readStream(`participant-${id(i)}`), {
        asOf: '2026-06-30',
        knownAt: new Date().toISOString(),
      });
      return progressView(doc!, '2026-06-30');
    });
    report({ name: 'ratio.progress_as_of_vs_live.p50', value: asOf.p50 / live.p50, unit: 'x' });
  } finally {
    await readModels.close();
    await events.close();
  }
}

async function overHttp(
  dataDir: string,
  sealedDir: string,
  participantIds: string[],
): Promise<void> {
  // The per-caller rate limit (600 a minute by default) would answer most of a load test 429.
  const serve = async (dir: string) => {
    const config = loadConfig({
      DATA_DIR: dir,
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
    });
    const app = await createApp(config, { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app;
  };
  const app = await serve(dataDir);
  const base = await app.getUrl();
  // The same service on the sealed log and its read models: answers are opened on the way out.
  const sealedApp = await serve(sealedDir);
  const sealedBase = await sealedApp.getUrl();
  const bare = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), {
    logger: false,
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const secret = new TextEncoder().encode(SECRET);
  const headers = {
    authorization: `Bearer ${await mintToken({ role: 'programme_admin', sub: 'bench' }, secret)}`,
  };
  const id = participantIds[Math.floor(participantIds.length / 2)]!;
  // Each sealed load right after its plaintext one, so that a noisy neighbour hits both alike.
  const results: Array<[string, autocannon.Result]> = [
    ['http.bare', await load(`${await bare.getUrl()}/bare`, {})],
    ['http.progress', await load(`${base}/v1/participants/${id}/progress`, headers)],
    ['http.progress.sealed', await load(`${sealedBase}/v1/participants/${id}/progress`, headers)],
    ['http.timeline_first_page', await load(`${base}/v1/participants/${id}/timeline`, headers)],
    [
      'http.timeline_first_page.sealed',
      await load(`${sealedBase}/v1/participants/${id}/timeline`, headers),
    ],
    [
      'http.dashboard',
      await load(`${base}/v1/programmes/${PROGRAMME.programmeId}/dashboard?society=S01`, headers),
    ],
  ];

  const bareRps = results[0]![1].requests.average;
  for (const [name, result] of results) {
    if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers`);
    report({ name: `${name}.rps`, value: result.requests.average, unit: 'req/s' });
    report({ name: `${name}.p50`, value: result.latency.p50, unit: 'ms' });
    report({ name: `${name}.p99`, value: result.latency.p99, unit: 'ms' });
    if (name !== 'http.bare')
      report({
        name: `ratio.${name}_vs_bare.rps`,
        value: result.requests.average / bareRps,
        unit: 'x',
      });
  }
  const rps = (name: string) => results.find(([n]) => n === name)![1].requests.average;
  for (const name of ['http.progress', 'http.timeline_first_page'])
    report({
      name: `ratio.sealing_cost.${name}.rps`,
      value: rps(name) / rps(`${name}.sealed`),
      unit: 'x',
      note: 'plain / sealed',
    });
  await bare.close();
  await sealedApp.close();
  await app.close();
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'projections-bench-'));
  try {
    process.stdout.write(
      `Projections benchmark, BENCH_SCALE=${SCALE}, ${PARTICIPANTS.toLocaleString('en-US')} participants\n`,
    );
    const started = Date.now();
    const sealedDir = join(dataDir, 'sealed');
    const { events, participantIds } = await generate(dataDir, sealedDir);
    process.stdout.write(
      `  generated ${events.toLocaleString('en-US')} events, in plaintext and sealed, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    const rebuild = async (which: string, dir = dataDir) => {
      const child = await run(
        process.execPath,
        ['-r', '@swc-node/register', join(__dirname, 'projections-rebuild-child.ts'), dir, which],
        { cwd: join(__dirname, '..'), maxBuffer: 1 << 20 },
      );
      return JSON.parse(child.stdout.trim().split('\n').pop()!) as {
        events: number;
        projections: number;
        seconds: number;
        cpuSeconds: number;
        maxRssMb: number;
        readModelBytes: number;
      };
    };
    // Side by side: the log read alone (the floor), the timeline alone (a row per event), and
    // the full rebuild last, whose read models the queries below use. The sealed log's read
    // alone and full rebuild take turns with the plaintext ones (the full rebuilds over
    // BENCH_ROUNDS rounds, in alternating order; medians reported).
    const readOnly = await rebuild('read-only');
    const readOnlySealed = await rebuild('read-only', sealedDir);
    const rawInsert = await rebuild('raw-insert');
    const timeline = await rebuild('timeline');
    const plainRuns: Array<Awaited<ReturnType<typeof rebuild>>> = [];
    const sealedRuns: Array<Awaited<ReturnType<typeof rebuild>>> = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round % 2 === 1) sealedRuns.push(await rebuild('all', sealedDir));
      plainRuns.push(await rebuild('all'));
      if (round % 2 === 0) sealedRuns.push(await rebuild('all', sealedDir));
    }
    const rate = (run: { events: number; seconds: number }) => run.events / run.seconds;
    const medianRun = (runs: typeof plainRuns) =>
      [...runs].sort((a, b) => rate(a) - rate(b))[Math.floor(runs.length / 2)]!;
    const rounds = (runs: typeof plainRuns) =>
      runs.length > 1
        ? `median of ${runs.length}: ${runs.map((r) => Math.round(rate(r)).toLocaleString('en-US')).join(' / ')}`
        : '';
    const rebuilt = medianRun(plainRuns);
    const rebuiltSealed = medianRun(sealedRuns);
    const megabytes = (bytes: number) => bytes / 1e6;
    const fileBytes = (fileName: string) =>
      ['', '-wal'].reduce((sum, suffix) => {
        try {
          return sum + statSync(`${fileName}${suffix}`).size;
        } catch {
          return sum;
        }
      }, 0);
    report({
      name: 'rebuild.read_only.events_per_s',
      value: rate(readOnly),
      unit: 'events/s',
      note: 'reading and decoding the log, projecting nothing',
    });
    report({
      name: 'rebuild.raw_timeline_insert.rows_per_s',
      value: rate(rawInsert),
      unit: 'rows/s',
      note: 'plain better-sqlite3, timeline-shaped rows, nothing read',
    });
    report({
      name: 'rebuild.floor.events_per_s',
      value: 1 / (1 / rate(readOnly) + 1 / rate(rawInsert)),
      unit: 'events/s',
      note: 'read alone + raw timeline insert alone, one after the other',
    });
    report({ name: 'rebuild.timeline_only.events_per_s', value: rate(timeline), unit: 'events/s' });
    report({
      name: 'rebuild.events_per_s',
      value: rate(rebuilt),
      unit: 'events/s',
      note: `${rebuilt.projections} read models, ${rebuilt.events.toLocaleString('en-US')} events in ${rebuilt.seconds.toFixed(1)} s; ${rounds(plainRuns)}`,
    });
    report({
      name: 'rebuild.peak_rss',
      value: Math.max(...plainRuns.map((r) => r.maxRssMb)),
      unit: 'MB',
      note: 'the highest of the rounds',
    });
    report({
      name: 'ratio.rebuild_vs_read_only',
      value: rate(rebuilt) / rate(readOnly),
      unit: 'x',
    });
    // The same ratios in CPU time (user + system of each child): on a machine shared with other
    // work, wall time swings with the neighbours from one child to the next, CPU time much less.
    const cpuRate = (run: { events: number; cpuSeconds: number }) => run.events / run.cpuSeconds;
    const cpuRates = plainRuns.map(cpuRate).sort((a, b) => a - b);
    report({
      name: 'ratio.rebuild_vs_read_only.cpu',
      value: cpuRates[Math.floor(cpuRates.length / 2)]! / cpuRate(readOnly),
      unit: 'x',
      note: 'events per CPU second, rebuild / read alone',
    });
    report({
      name: 'ratio.rebuild.timeline_only_vs_read_only',
      value: rate(timeline) / rate(readOnly),
      unit: 'x',
    });

    // The same, from the sealed log: the projections copy sealed values as they are, so what
    // differs is the size of the JSON read, copied and written.
    process.stdout.write('Sealed log (personal fields encrypted)\n');
    // The JSON the events hold (data and metadata), per event: what sealing makes bigger. The
    // files grow less, since the plaintext log's pages had room to spare.
    const jsonBytes = (dir: string) => {
      const db = new Database(join(dir, 'events.sqlite'), { readonly: true });
      try {
        return db
          .prepare(
            'SELECT avg(length(CAST(data AS BLOB)) + length(CAST(metadata AS BLOB))) FROM events',
          )
          .pluck()
          .get() as number;
      } finally {
        db.close();
      }
    };
    report({
      name: 'log.json_bytes_per_event.plain',
      value: jsonBytes(dataDir),
      unit: 'bytes',
      note: 'data + metadata',
    });
    report({
      name: 'log.json_bytes_per_event.sealed',
      value: jsonBytes(sealedDir),
      unit: 'bytes',
      note: 'data + metadata',
    });
    report({
      name: 'log.size.plain',
      value: megabytes(fileBytes(join(dataDir, 'events.sqlite'))),
      unit: 'MB',
    });
    report({
      name: 'log.size.sealed',
      value: megabytes(fileBytes(join(sealedDir, 'events.sqlite'))),
      unit: 'MB',
    });
    report({
      name: 'read_models.size.plain',
      value: megabytes(rebuilt.readModelBytes),
      unit: 'MB',
    });
    report({
      name: 'read_models.size.sealed',
      value: megabytes(rebuiltSealed.readModelBytes),
      unit: 'MB',
    });
    report({
      name: 'rebuild.sealed.read_only.events_per_s',
      value: rate(readOnlySealed),
      unit: 'events/s',
      note: 'reading and decoding the sealed log, projecting nothing',
    });
    report({
      name: 'rebuild.sealed.events_per_s',
      value: rate(rebuiltSealed),
      unit: 'events/s',
      note: `${rebuiltSealed.projections} read models from the sealed log; ${rounds(sealedRuns)}`,
    });
    report({
      name: 'rebuild.sealed.peak_rss',
      value: Math.max(...sealedRuns.map((r) => r.maxRssMb)),
      unit: 'MB',
      note: 'the highest of the rounds',
    });
    report({
      name: 'ratio.sealing_cost.rebuild.read_only',
      value: rate(readOnly) / rate(readOnlySealed),
      unit: 'x',
      note: 'plain / sealed',
    });
    report({
      name: 'ratio.sealing_cost.rebuild',
      value: rate(rebuilt) / rate(rebuiltSealed),
      unit: 'x',
      note: `plain / sealed; per round: ${plainRuns.map((r, i) => (rate(r) / rate(sealedRuns[i]!)).toFixed(2)).join(' / ')}`,
    });
    await inProcess(dataDir, participantIds);
    await audit(dataDir, participantIds, rate(readOnly));
    await overHttp(dataDir, sealedDir, participantIds);
  } finally {
    if (process.env.BENCH_KEEP_DATA) process.stdout.write(`  data kept in ${dataDir}\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
  printBenchLines();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
