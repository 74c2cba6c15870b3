// The fault suite (`npm run faults`, docs/reliability.md, "Fault suite"): the real service as a separate
// process, concurrent clients over HTTP, and faults injected under load. Exits 1 when an
// acknowledged event is lost or duplicated.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/app-config';
import { type NewEvent, PersonalDataVault, SealingEventStore } from '../../src/event-sourcing';
import { PERSONAL_DATA_POLICY } from '../../src/personal-data';
import { EVENT_SCHEMAS } from '../../src/event-schemas';
import {
  STUDENT_ROLES,
  createEventStore,
  createEventStoreAdapter,
} from '../../src/stores/event-store.module';
import { createSubjectKeyStore } from '../../src/stores/subject-key-store.module';
import {
  ADMIN_URL,
  SECRET,
  Service,
  type ServiceEnv,
  type StoreSettings,
  Tally,
  checkLog,
  cli,
  createDatabase,
  defineProgramme,
  dropDatabase,
  freePort,
  percentile,
  projectionsOf,
  readLog,
  sleep,
  staffTokens,
  startLoad,
  timeUntil,
} from './fault-kit';

const KINDS = [
  'kill_sqlite',
  'kill_postgres',
  'postgres_outage',
  'disk_full',
  'poison',
  'failover',
] as const;
type Kind = (typeof KINDS)[number];

const SCALE = (() => {
  const raw = process.env.FAULTS_SCALE ?? '1';
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0)
    throw new Error(`FAULTS_SCALE must be a positive number such as 0.1 or 1, not "${raw}"`);
  return scale;
})();
const scaled = (count: number, min = 1) => Math.max(min, Math.round(count * SCALE));
const CLIENTS = Number(process.env.FAULTS_CLIENTS ?? 8);
/** LEADER_TAKEOVER_MS of the failover instances. */
const TAKEOVER_MS = Number(process.env.FAULTS_TAKEOVER_MS ?? 2000);
/** Run `verify` after every Nth restart (0: only at the end of each kind). */
const VERIFY_EVERY = Number(process.env.FAULTS_VERIFY_EVERY ?? 1);
const SELECTED: readonly Kind[] = (() => {
  const raw = process.env.FAULTS_KINDS;
  if (!raw) return KINDS;
  const kinds = raw.split(',').map((kind) => kind.trim());
  for (const kind of kinds)
    if (!(KINDS as readonly string[]).includes(kind))
      throw new Error(`FAULTS_KINDS: unknown kind "${kind}" (known: ${KINDS.join(', ')})`);
  return kinds as Kind[];
})();

type Result = {
  kind: Kind;
  injections: number;
  tally: Tally;
  lost: number;
  duplicated: number;
  gaps: number;
  events: number;
  verifyRuns: number;
  verifyFailures: number;
  crashes: number;
  notes: string[];
  /** failover: from each kill -9 of the leader until the survivor led every read model. */
  takeoversMs: number[];
  /** failover: from each kill until the survivor's read models passed the head as it was then. */
  catchUpsMs: number[];
  /** failover: instances whose read models reached the log head once the load stopped. */
  atHead: number;
};

const runId = `${Date.now().toString(36)}${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'faults-'));
const random = (low: number, high: number) => low + Math.random() * (high - low);
const say = (line: string) => process.stdout.write(`${line}\n`);

function newResult(kind: Kind): Result {
  return {
    kind,
    injections: 0,
    tally: new Tally(),
    lost: 0,
    duplicated: 0,
    gaps: 0,
    events: 0,
    verifyRuns: 0,
    verifyFailures: 0,
    crashes: 0,
    notes: [],
    takeoversMs: [],
    catchUpsMs: [],
    atHead: 0,
  };
}

function baseEnv(port: number, dataDir: string): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    AUTH_JWT_SECRET: SECRET,
    RATE_LIMIT_PER_MINUTE: '0',
    DOCS_ENABLED: 'false',
  };
}

/** Reads the log, checks it against the acknowledgements, and (when asked) runs `verify`. */
async function check(
  result: Result,
  settings: StoreSettings,
  env: ServiceEnv,
  runVerify: boolean,
): Promise<void> {
  const log = checkLog(await readLog(settings), result.tally.acks);
  result.lost = log.lost;
  result.duplicated = log.duplicated;
  result.gaps = log.gaps;
  result.events = log.events;
  for (const detail of log.details) say(`    ${detail}`);
  if (log.gaps > 0) say(`    ${log.gaps} positions out of order or missing`);
  if (runVerify) {
    const verified = await cli(env, 'verify');
    result.verifyRuns += 1;
    if (verified.code !== 0) {
      result.verifyFailures += 1;
      const lines = verified.output
        .split('\n')
        .filter((line) => /^(LOG|READ MODEL|Verif)/.test(line));
      say(`    verify exited ${verified.code}: ${lines.slice(0, 5).join(' | ')}`);
    }
  }
}

/** After the last injection: load goes on until a command is acknowledged again (2 min at most). */
async function settle(result: Result): Promise<void> {
  if (!(await result.tally.recovered(120_000)))
    result.notes.push('no command acknowledged within 2 minutes of the last fault');
  await sleep(1000);
}

/** kill -9 at random moments under load; after each, checks with the service down, restarts. */
async function killRun(
  result: Result,
  env: ServiceEnv,
  settings: StoreSettings,
  service: Service,
): Promise<void> {
  const tokens = await staffTokens();
  await service.start();
  await defineProgramme(result.tally, service.url, tokens);
  const load = startLoad({
    tally: result.tally,
    baseUrl: () => service.url,
    clients: CLIENTS,
    tokens,
    runId: `${runId}${result.kind}`,
  });
  const kills = scaled(20);
  try {
    for (let i = 1; i <= kills; i += 1) {
      await sleep(random(300, 2500));
      await service.kill('SIGKILL');
      result.injections += 1;
      const verifyNow = VERIFY_EVERY > 0 && i % VERIFY_EVERY === 0;
      await check(result, settings, env, verifyNow);
      say(
        `  kill ${i}/${kills}: ${result.tally.acknowledged} acknowledged, ${result.events} events, lost ${result.lost}, duplicated ${result.duplicated}`,
      );
      // Recovery: from the restart (a supervisor's) to the next acknowledged command.
      result.tally.markRecoveryStart();
      await service.start();
    }
    await settle(result);
  } finally {
    await load.stop();
    await service.kill('SIGKILL');
  }
  result.tally.finish();
  await check(result, settings, env, true);
  result.crashes = service.crashes;
}

async function killSqlite(result: Result): Promise<void> {
  const dataDir = join(work, 'kill-sqlite');
  const env = baseEnv(await freePort(), dataDir);
  const service = new Service(env, join(work, 'kill-sqlite.log'));
  await killRun(result, env, { kind: 'sqlite', fileName: join(dataDir, 'events.sqlite') }, service);
}

async function killPostgres(result: Result): Promise<void> {
  const name = `faults_${runId}_kill`;
  const url = await createDatabase(ADMIN_URL, name);
  try {
    const env = {
      ...baseEnv(await freePort(), join(work, 'kill-postgres')),
      EVENT_STORE: 'postgres',
      READ_MODEL_STORE: 'postgres',
      DATABASE_URL: url,
    };
    const service = new Service(env, join(work, 'kill-postgres.log'));
    await killRun(result, env, { kind: 'postgres', url }, service);
  } finally {
    await dropDatabase(ADMIN_URL, name).catch(() => undefined);
  }
}

/** The PostgreSQL binaries, for a cluster of the suite's own. */
function pgBin(tool: string): string | undefined {
  for (const dir of ['/usr/local/bin', '/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin'])
    if (existsSync(join(dir, tool))) return join(dir, tool);
  for (const version of ['15', '14', '13'])
    if (existsSync(`/usr/lib/postgresql/${version}/bin/${tool}`))
      return `/usr/lib/postgresql/${version}/bin/${tool}`;
  return undefined;
}

/** Runs a PostgreSQL tool as the `postgres` OS user (initdb refuses root). */
function asPostgres(tool: string, args: readonly string[]): void {
  const binary = pgBin(tool);
  if (!binary) throw new Error(`${tool} not found`);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', binary, ...args], { stdio: 'pipe' });
  else execFileSync(binary, args, { stdio: 'pipe' });
}

/** A cluster of our own in a temporary directory, stopped (immediate) and started under load. */
async function postgresOutage(result: Result): Promise<void> {
  const clusterDir = join(work, 'pg-cluster');
  mkdirSync(clusterDir);
  const port = await freePort();
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(clusterDir, uid, gid);
    chmodSync(work, 0o755);
  }
  const data = join(clusterDir, 'data');
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const pgStart = () =>
    asPostgres('pg_ctl', [
      'start',
      '-w',
      '-D',
      data,
      '-l',
      join(clusterDir, 'server.log'),
      '-o',
      `-p ${port} -k ${clusterDir} -c listen_addresses=127.0.0.1`,
    ]);
  const pgStop = () => asPostgres('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]);
  pgStart();
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const url = await createDatabase(admin, 'progress');
  const env = {
    ...baseEnv(await freePort(), join(work, 'outage')),
    EVENT_STORE: 'postgres',
    READ_MODEL_STORE: 'postgres',
    DATABASE_URL: url,
  };
  const service = new Service(env, join(work, 'outage.log'));
  const tokens = await staffTokens();
  try {
    await service.start();
    await defineProgramme(result.tally, service.url, tokens);
    const load = startLoad({
      tally: result.tally,
      baseUrl: () => service.url,
      clients: CLIENTS,
      tokens,
      runId: `${runId}outage`,
    });
    try {
      const outages = scaled(5);
      for (let i = 1; i <= outages; i += 1) {
        await sleep(random(1500, 3000));
        pgStop();
        result.injections += 1;
        const down = random(2000, 5000);
        await sleep(down);
        pgStart();
        result.tally.markRecoveryStart();
        say(
          `  outage ${i}/${outages}: ${Math.round(down)} ms down; ${result.tally.acknowledged} acknowledged so far`,
        );
      }
      await settle(result);
    } finally {
      await load.stop();
    }
    result.tally.finish();
    result.crashes = service.crashes;
    await service.kill('SIGTERM');
    await check(result, { kind: 'postgres', url }, env, true);
  } finally {
    await service.kill('SIGKILL');
    try {
      pgStop();
    } catch {
      // already stopped
    }
  }
}

/** Fills a size-limited filesystem under the embedded store, then frees it, under load. */
async function diskFull(result: Result): Promise<void> {
  const mountPoint = join(work, 'small-disk');
  mkdirSync(mountPoint);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', mountPoint], {
      stdio: 'pipe',
    });
    result.notes.push('tmpfs of 32 MiB, filled to the last byte');
  } catch (error) {
    result.notes.push(
      `mount -t tmpfs not allowed here (${(error as Error).message.split('\n')[0]}); not measured`,
    );
    say(`  disk_full: ${result.notes.at(-1)}`);
    return;
  }
  const dataDir = join(mountPoint, 'data');
  const env = baseEnv(await freePort(), dataDir);
  const service = new Service(env, join(work, 'disk-full.log'));
  const tokens = await staffTokens();
  const filler = join(mountPoint, 'filler');
  try {
    await service.start();
    await defineProgramme(result.tally, service.url, tokens);
    const load = startLoad({
      tally: result.tally,
      baseUrl: () => service.url,
      clients: CLIENTS,
      tokens,
      runId: `${runId}disk`,
    });
    try {
      const fills = scaled(5);
      for (let i = 1; i <= fills; i += 1) {
        await sleep(random(1500, 3000));
        const fd = openSync(filler, 'w');
        const chunk = Buffer.alloc(64 * 1024, 1);
        try {
          for (;;) writeSync(fd, chunk);
        } catch {
          // ENOSPC: the disk is full
        }
        try {
          for (;;) writeSync(fd, chunk.subarray(0, 512));
        } catch {
          // to the last block
        }
        closeSync(fd);
        result.injections += 1;
        const before = result.tally.acknowledged;
        await sleep(random(2000, 4000));
        const during = result.tally.acknowledged - before;
        unlinkSync(filler);
        result.tally.markRecoveryStart();
        say(`  disk full ${i}/${fills}: ${during} acknowledged while full`);
      }
      await settle(result);
    } finally {
      await load.stop();
    }
    result.tally.finish();
    result.crashes = service.crashes;
    await service.kill('SIGKILL');
    await check(result, { kind: 'sqlite', fileName: join(dataDir, 'events.sqlite') }, env, true);
  } finally {
    await service.kill('SIGKILL');
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    } catch {
      // left for the OS
    }
  }
}

/**
 * Poison in an existing log (SQLite log, PostgreSQL read models): an ActivityLogged whose title
 * holds a NUL (PostgreSQL text refuses it) and an ActivityVerified of an activity its participant
 * never logged (the progress projection's evolve throws), written with the service stopped
 * through the same sealing store the service uses. Then the service restarts under load.
 */
async function poison(result: Result): Promise<void> {
  const name = `faults_${runId}_poison`;
  const url = await createDatabase(ADMIN_URL, name);
  const dataDir = join(work, 'poison');
  const env = {
    ...baseEnv(await freePort(), dataDir),
    READ_MODEL_STORE: 'postgres',
    KEY_STORE: 'sqlite',
    DATABASE_URL: url,
  };
  const service = new Service(env, join(work, 'poison.log'));
  const tokens = await staffTokens();
  const settings: StoreSettings = { kind: 'sqlite', fileName: join(dataDir, 'events.sqlite') };
  try {
    await service.start();
    await defineProgramme(result.tally, service.url, tokens);
    let load = startLoad({
      tally: result.tally,
      baseUrl: () => service.url,
      clients: CLIENTS,
      tokens,
      runId: `${runId}poison`,
    });
    await sleep(scaled(8000, 4000));
    await load.stop();
    await service.kill('SIGKILL');
    result.injections = await injectPoison(env, scaled(3));
    say(`  poison: ${result.injections} poison events appended`);
    const restarted = Date.now();
    await service.start();
    result.tally.markRecoveryStart(restarted);
    load = startLoad({
      tally: result.tally,
      baseUrl: () => service.url,
      clients: CLIENTS,
      tokens,
      runId: `${runId}poison2`,
    });
    await sleep(scaled(8000, 4000));
    const ready = await fetch(`${service.url}/health/ready`).catch(() => undefined);
    result.notes.push(`after the poison: /health/ready ${ready?.status ?? 'no answer'}`);
    await load.stop();
    result.tally.finish();
    result.crashes = service.crashes;
    await service.kill('SIGKILL');
    await check(result, settings, env, true);
    const deadLetters = await cli(env, 'dead-letters');
    result.notes.push(
      `dead-letters: ${deadLetters.output.trim().split('\n').slice(0, 4).join(' / ')}`,
    );
  } finally {
    await service.kill('SIGKILL');
    await dropDatabase(ADMIN_URL, name).catch(() => undefined);
  }
}

async function injectPoison(env: ServiceEnv, pairs: number): Promise<number> {
  const config = loadConfig({ ...env });
  const keys = createSubjectKeyStore(config);
  const inner = createEventStore(config, EVENT_SCHEMAS);
  // A legacy event, as a log from before sealing holds it: plain text, straight to the adapter.
  const legacy = createEventStoreAdapter(config);
  let appended = 0;
  try {
    const vault = await PersonalDataVault.open(keys);
    const store = new SealingEventStore(inner, vault, PERSONAL_DATA_POLICY, STUDENT_ROLES);
    const logged = (await store.readAll(0, 100_000)).filter(
      (event) => event.type === 'ActivityLogged',
    );
    const streams = [...new Set(logged.map((event) => event.streamName))].slice(0, pairs);
    for (const streamName of streams) {
      const template = logged.find((event) => event.streamName === streamName)!;
      const metadata = { ...template.metadata, correlationId: `poison-${randomUUID()}` };
      const { subjectRef: _subjectRef, ...v1 } = template.data;
      const nul: NewEvent = {
        type: 'ActivityLogged',
        data: { ...v1, activityId: randomUUID(), title: 'Poison\u0000title', evidence: null },
        metadata: { ...metadata, schemaVersion: 1 },
      };
      const unknown: NewEvent = {
        type: 'ActivityVerified',
        data: {
          participantId: (template.data as { participantId: string }).participantId,
          activityId: randomUUID(),
        },
        metadata: { ...metadata, actor: { sub: 'staff-B33', role: 'society_staff' } },
      };
      await legacy.append(streamName, [nul]);
      await store.append(streamName, [unknown]);
      appended += 2;
    }
  } finally {
    await inner.close();
    await legacy.close();
    await keys.close();
  }
  return appended;
}

/**
 * Two instances with projectors on one PostgreSQL, load through both; kill -9 of the one leading
 * the read models, writes going on through the other: the survivor must take the leadership
 * within LEADER_TAKEOVER_MS and its read models catch up. The killed one is restarted (standing
 * by) before the next round. At the end both instances' read models reach the log head and
 * `verify` passes.
 */
async function failover(result: Result): Promise<void> {
  const name = `faults_${runId}_failover`;
  const url = await createDatabase(ADMIN_URL, name);
  const services: Service[] = [];
  try {
    const shared = {
      EVENT_STORE: 'postgres',
      READ_MODEL_STORE: 'postgres',
      KEY_STORE: 'postgres',
      DATABASE_URL: url,
      LEADER_TAKEOVER_MS: String(TAKEOVER_MS),
    };
    for (const i of [0, 1])
      services.push(
        new Service(
          { ...baseEnv(await freePort(), join(work, `failover-${i}`)), ...shared },
          join(work, `failover-${i}.log`),
        ),
      );
    for (const service of services) await service.start();
    const tokens = await staffTokens();
    await defineProgramme(result.tally, services[0]!.url, tokens);
    let turn = 0;
    const load = startLoad({
      tally: result.tally,
      // Round robin over the instances that run, as a load balancer would.
      baseUrl: () => {
        const up = services.filter((service) => service.pid !== undefined);
        turn += 1;
        return (up[turn % Math.max(1, up.length)] ?? services[0]!).url;
      },
      clients: CLIENTS,
      tokens,
      runId: `${runId}failover`,
    });
    try {
      const rounds = scaled(6);
      for (let i = 1; i <= rounds; i += 1) {
        await sleep(random(1000, 3000));
        const seen = await Promise.all(services.map(projectionsOf));
        const leaderIndex = (seen[1]?.leading ?? 0) > (seen[0]?.leading ?? 0) ? 1 : 0;
        const leader = services[leaderIndex]!;
        const survivor = services[1 - leaderIndex]!;
        const headAtKill = Math.max(...seen.map((s) => s?.head ?? 0));
        const killedAt = Date.now();
        await leader.kill('SIGKILL');
        result.injections += 1;
        result.tally.markRecoveryStart(killedAt);
        const took = await timeUntil(
          async () => {
            const state = await projectionsOf(survivor);
            return state !== undefined && state.count > 0 && state.leading === state.count;
          },
          killedAt,
          60_000,
        );
        const caughtUp = await timeUntil(
          async () => ((await projectionsOf(survivor))?.lowest ?? 0) >= headAtKill,
          killedAt,
          60_000,
        );
        if (took === undefined) result.notes.push(`round ${i}: the survivor did not take over`);
        else result.takeoversMs.push(took);
        if (caughtUp === undefined) result.notes.push(`round ${i}: the survivor did not catch up`);
        else result.catchUpsMs.push(caughtUp);
        say(
          `  kill ${i}/${rounds} of the leader: survivor led after ${took ?? '-'} ms, caught up after ${caughtUp ?? '-'} ms; ${result.tally.acknowledged} acknowledged`,
        );
        // A supervisor restarts it; it stands by.
        await leader.start();
      }
      await settle(result);
    } finally {
      await load.stop();
    }
    result.tally.finish();
    for (const service of services) {
      const reached = await timeUntil(
        async () => {
          const state = await projectionsOf(service);
          return state !== undefined && state.count > 0 && state.lowest >= state.head;
        },
        Date.now(),
        60_000,
      );
      if (reached !== undefined) result.atHead += 1;
      else result.notes.push(`${service.url}: read models did not reach the log head`);
    }
    result.crashes = services.reduce((sum, service) => sum + service.crashes, 0);
    for (const service of services) await service.kill('SIGTERM');
    await check(result, { kind: 'postgres', url }, services[0]!.env, true);
  } finally {
    for (const service of services) await service.kill('SIGKILL');
    await dropDatabase(ADMIN_URL, name).catch(() => undefined);
  }
}

const RUNNERS: Record<Kind, (result: Result) => Promise<void>> = {
  kill_sqlite: killSqlite,
  kill_postgres: killPostgres,
  postgres_outage: postgresOutage,
  disk_full: diskFull,
  poison,
  failover,
};

async function main(): Promise<void> {
  say(
    `Fault suite: kinds ${SELECTED.join(', ')}; FAULTS_SCALE=${SCALE}, ${CLIENTS} clients; work dir ${work}`,
  );
  const results: Result[] = [];
  for (const kind of SELECTED) {
    say(`\n${kind}`);
    const result = newResult(kind);
    const started = Date.now();
    try {
      await RUNNERS[kind](result);
    } catch (error) {
      result.notes.push(`run failed: ${(error as Error).message}`);
      say(`  ${kind} failed: ${(error as Error).stack}`);
    }
    say(`  ${kind} took ${Math.round((Date.now() - started) / 1000)} s`);
    results.push(result);
  }
  printTable(results);
  printBench(results);
  const bad = results.filter((r) => r.lost > 0 || r.duplicated > 0 || r.gaps > 0);
  const failedRuns = results.filter((r) => r.notes.some((note) => note.startsWith('run failed')));
  const keep =
    process.env.FAULTS_KEEP === '1' ||
    results.some((r) => r.notes.some((note) => note.startsWith('no command')));
  if (!keep && bad.length === 0 && failedRuns.length === 0)
    rmSync(work, { recursive: true, force: true });
  else say(`\nLogs of the service and the data are kept in ${work}`);
  process.exitCode = bad.length > 0 || failedRuns.length > 0 ? 1 : 0;
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

function printTable(results: readonly Result[]): void {
  const header = [
    'kind',
    'injections',
    'sent',
    'acknowledged',
    'lost',
    'duplicated',
    'unavailable s',
    'recovery p50 s',
    'recovery p99 s',
    'verify failed/runs',
    'service exits',
  ];
  const rows = results.map((r) => [
    r.kind,
    String(r.injections),
    String(r.tally.sent),
    String(r.tally.acknowledged),
    String(r.lost),
    String(r.duplicated),
    seconds(r.tally.unavailableMs),
    seconds(percentile(r.tally.recoveriesMs, 50)),
    seconds(percentile(r.tally.recoveriesMs, 99)),
    `${r.verifyFailures}/${r.verifyRuns}`,
    String(r.crashes),
  ]);
  say('');
  say(`| ${header.join(' | ')} |`);
  say(`| ${header.map((_h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of rows) say(`| ${row.join(' | ')} |`);
  for (const r of results) {
    const refusals = [...r.tally.refusals].map(([key, count]) => `${key} ×${count}`).join(', ');
    const extra = [
      ...r.notes,
      `refused ${r.tally.refused}${refusals ? ` (${refusals})` : ''}`,
      `abandoned unacknowledged ${r.tally.abandoned} (of which ${r.tally.stuckInProgress} after 15 s of 409 IDEMPOTENCY_IN_PROGRESS)`,
      `${r.events} events in the log`,
    ];
    say(`  ${r.kind}: ${extra.join('; ')}`);
  }
}

function printBench(results: readonly Result[]): void {
  say('');
  for (const r of results) {
    const k = `faults.${r.kind}`;
    say(`bench: ${k}.injections ${r.injections} count`);
    say(`bench: ${k}.sent ${r.tally.sent} commands`);
    say(`bench: ${k}.acknowledged ${r.tally.acknowledged} events`);
    say(`bench: ${k}.lost ${r.lost} events`);
    say(`bench: ${k}.duplicated ${r.duplicated} events`);
    say(`bench: ${k}.unavailable ${Math.round(r.tally.unavailableMs)} ms`);
    say(`bench: ${k}.recovery_p50 ${Math.round(percentile(r.tally.recoveriesMs, 50))} ms`);
    say(`bench: ${k}.recovery_p99 ${Math.round(percentile(r.tally.recoveriesMs, 99))} ms`);
    say(`bench: ${k}.verify_failures ${r.verifyFailures} count`);
    say(`bench: ${k}.stuck_in_progress ${r.tally.stuckInProgress} commands`);
    if (r.kind === 'failover') {
      say(`bench: ${k}.takeover_max ${Math.round(Math.max(0, ...r.takeoversMs))} ms`);
      say(`bench: ${k}.catchup_max ${Math.round(Math.max(0, ...r.catchUpsMs))} ms`);
      say(`bench: ${k}.takeover_limit ${TAKEOVER_MS} ms`);
      say(`bench: ${k}.instances_at_head ${r.atHead} count`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
