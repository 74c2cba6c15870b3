// Scale-out: 1, 2 and 3 `api` instances plus one `projector` on one PostgreSQL database, behind
// the same round-robin proxy, under a realistic mix (70 % reads of progress, timeline and
// dashboard, 30 % activity commands) from autocannon. Prints throughput, latency, non-2xx
// answers, projection lag and the CPU of every process per instance count, and the scaling
// ratios. See bench/README.md#scale-out for the workload, the line names and the figures.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { mintToken } from '../src/auth/tokens';
import { PILLAR_CATEGORIES, PILLARS } from '../src/programmes/domain/programme';
import { printBenchLines, report, SCALE, scaled } from './bench-kit';
import {
  ADMIN_URL,
  PROGRAMME_RULES,
  ROOT,
  SECRET,
  Service,
  Tally,
  cli,
  createDatabase,
  dropDatabase,
  enrolStudent,
  freePort,
  percentile,
  projectionsOf,
  sender,
  sleep,
  studentToken,
  timeUntil,
} from './faults/fault-kit';

// ---------------------------------------------------------------------------------------------
// Workload

/**
 * Enrolled participants each step drives, spread evenly over the societies. Every step has a
 * cohort of its own, all seeded alike before the first step: commands read and fold the whole
 * participant stream, so a step driving the streams the previous steps grew would pay for them.
 */
const POPULATION = scaled(200, 40);
/** Activities each participant logs while seeding; every other one is verified. */
const SEED_ACTIVITIES = 10;
const SEED_CONCURRENCY = 16;
/** Measured seconds per instance count, after the warm-up. */
const STEP_S = Math.max(3, Math.round(20 * SCALE));
const WARMUP_S = Math.max(2, Math.round(5 * SCALE));
const CONNECTIONS = Number(process.env.BENCH_SCALE_CONNECTIONS ?? 32);
const INSTANCE_COUNTS = [1, 2, 3] as const;
/** Run `cli verify` (hash chains, read models against a fresh replay) at the end. */
const VERIFY = process.env.BENCH_SCALE_VERIFY !== '0';

const PROGRAMME_ID = 'scale-2026';
const SOCIETIES = [
  { code: 'B33', name: 'China Rare Earth Society' },
  { code: 'A01', name: 'Chinese Chemical Society' },
  { code: 'C07', name: 'Chinese Mechanical Engineering Society' },
  { code: 'D12', name: 'Chinese Society of Biotechnology' },
];

type Kind = 'progress' | 'timeline' | 'dashboard' | 'activity';
const KINDS: readonly Kind[] = ['progress', 'timeline', 'dashboard', 'activity'];

/**
 * How often each kind of request comes, in %: 70 % reads, 30 % commands. Each request draws its
 * kind at random: a fixed cycle of kinds would line up with the proxy's round robin (with a cycle
 * of 20 and 2 instances, one instance got 5 commands in 10 requests, the other 1).
 */
const MIXED: Readonly<Record<Kind, number>> = {
  progress: 35,
  timeline: 20,
  dashboard: 15,
  activity: 30,
};

/**
 * BENCH_SCALE_MIX: `mixed` (the default, above), or, to tell the two paths apart, `reads` (the
 * same reads in the same proportions, no command) or `commands` (activity commands only).
 */
const MIX_NAME = process.env.BENCH_SCALE_MIX ?? 'mixed';
const MIX: Readonly<Record<Kind, number>> = (() => {
  switch (MIX_NAME) {
    case 'mixed':
      return MIXED;
    case 'reads':
      return { ...MIXED, activity: 0 };
    case 'commands':
      return { progress: 0, timeline: 0, dashboard: 0, activity: 1 };
    default:
      throw new Error(`BENCH_SCALE_MIX must be mixed, reads or commands, not "${MIX_NAME}"`);
  }
})();

/** A kind of request drawn at random with the weights of MIX. */
function drawKind(): Kind {
  const total = KINDS.reduce((sum, kind) => sum + MIX[kind], 0);
  let draw = Math.random() * total;
  for (const kind of KINDS) {
    draw -= MIX[kind];
    if (draw < 0) return kind;
  }
  return 'activity';
}

const TITLES = [
  'China Rare Earth Annual Conference, Baotou',
  'Scientific ethics seminar',
  'Paper accepted: solvent extraction kinetics',
  'Assistant editor, journal issue 4',
  'Cross-disciplinary workshop on separation membranes',
  'Visit to a corporate R&D centre',
];

type Participant = {
  readonly id: string;
  readonly society: string;
  /** The student's own token (`participant`). */
  readonly token: string;
};

type Tokens = {
  readonly admin: string;
  readonly dashboard: string;
  /** Society staff, by society code. */
  readonly staff: ReadonlyMap<string, string>;
};

const say = (line: string) => process.stdout.write(`${line}\n`);

/** An activity body, varied by `n`: pillar, category, date within the window, hours, evidence. */
function activityBody(n: number) {
  const pillar = PILLARS[n % PILLARS.length]!;
  const categories = PILLAR_CATEGORIES[pillar];
  const day = new Date(Date.UTC(2026, 0, 5) + ((n * 37) % 320) * 86_400_000);
  return {
    pillar,
    category: categories[(n >> 2) % categories.length]!,
    title: TITLES[n % TITLES.length]!,
    occurredOn: day.toISOString().slice(0, 10),
    hours: 1 + (n % 15) / 2,
    ...(n % 4 === 0 ? { evidence: `https://files.example.org/certificates/${n}.pdf` } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// CPU: /proc/<pid>/stat of each process, /proc/stat of the machine

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) a process has used, or undefined when it is gone. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU seconds, all cores together. */
function machineSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // cpu  user nice system idle iowait irq softirq steal …
  const ticks = line.split(/\s+/).slice(1, 9).map(Number);
  const idle = ticks[3]! + ticks[4]!;
  const busy = ticks.reduce((sum, value) => sum + value, 0) - idle;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle) / CLOCK_TICKS };
}

/** A named group of processes whose CPU is measured together (one api instance, PostgreSQL…). */
type Group = { readonly name: string; readonly pids: () => Promise<number[]> | number[] };

type CpuSample = {
  readonly at: number;
  readonly machine: { busy: number; total: number };
  readonly groups: Map<string, Map<number, number>>;
};

async function sampleCpu(groups: readonly Group[]): Promise<CpuSample> {
  const sampled = new Map<string, Map<number, number>>();
  for (const group of groups) {
    const seconds = new Map<number, number>();
    for (const pid of await group.pids()) {
      const used = cpuSecondsOf(pid);
      if (used !== undefined) seconds.set(pid, used);
    }
    sampled.set(group.name, seconds);
  }
  return { at: performance.now(), machine: machineSeconds(), groups: sampled };
}

/**
 * Cores each group used between two samples. A process that appeared in between counts from
 * its start; one that ended in between is lost (PostgreSQL backends come and go with the pools).
 */
function coresBetween(before: CpuSample, after: CpuSample) {
  const seconds = (after.at - before.at) / 1000;
  const groups = new Map<string, number>();
  for (const [name, pids] of after.groups) {
    let used = 0;
    for (const [pid, total] of pids) used += total - (before.groups.get(name)?.get(pid) ?? 0);
    groups.set(name, used / seconds);
  }
  const cores = cpus().length;
  const machine =
    ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) *
    cores;
  return { groups, machine };
}

// ---------------------------------------------------------------------------------------------
// The proxy (bench/scale-proxy.ts, a child process)

type Proxy = { readonly url: string; readonly pid: number; stop(): Promise<number> };

async function startProxy(upstreams: readonly Service[]): Promise<Proxy> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', '@swc-node/register', 'bench/scale-proxy.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        SCALE_PROXY_PORT: String(port),
        SCALE_PROXY_UPSTREAMS: upstreams.map((service) => service.url).join(','),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the proxy exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      const failed = new Promise<number>((resolve) => {
        child.once('message', (message) => resolve((message as { failed: number }).failed));
        child.once('exit', () => resolve(-1));
      });
      child.send('stop');
      const count = await failed;
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
      return count;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Seeding through the HTTP API

async function mintTokens(): Promise<Tokens> {
  const secret = new TextEncoder().encode(SECRET);
  const staff = new Map<string, string>();
  for (const { code } of SOCIETIES)
    staff.set(
      code,
      await mintToken({ role: 'society_staff', sub: `staff-${code}`, society: code }, secret),
    );
  return {
    admin: await mintToken({ role: 'programme_admin', sub: 'scale-admin' }, secret),
    dashboard: await mintToken({ role: 'dashboard', sub: 'wall-screen' }, secret),
    staff,
  };
}

/** The programme, then `count` students enrolled with SEED_ACTIVITIES activities each. */
async function seed(
  baseUrl: string,
  tokens: Tokens,
  tally: Tally,
  count: number,
): Promise<Participant[]> {
  const send = sender(tally, () => baseUrl);
  const defined = await send(
    '/v1/programmes',
    tokens.admin,
    {
      ...PROGRAMME_RULES,
      programmeId: PROGRAMME_ID,
      name: 'Scale benchmark programme',
      societies: SOCIETIES,
    },
    'programme',
  );
  if (!defined || defined.status >= 300)
    throw new Error(`defining the programme failed: ${JSON.stringify(defined)}`);
  const participants: Participant[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const society = SOCIETIES[index % SOCIETIES.length]!.code;
      const staff = tokens.staff.get(society)!;
      const sub = `scale-student-${index}`;
      const id = await enrolStudent(send, {
        programmeId: PROGRAMME_ID,
        sub,
        society,
        staff,
        admin: tokens.admin,
      });
      if (id === undefined)
        throw new Error(
          `student ${index} could not be enrolled: ${JSON.stringify([...tally.refusals])}`,
        );
      const token = await studentToken('participant', sub);
      for (let i = 0; i < SEED_ACTIVITIES; i += 1) {
        const logged = await send(
          `/v1/participants/${id}/activities`,
          token,
          activityBody(index * SEED_ACTIVITIES + i),
          'log',
        );
        const activityId = logged?.body.activityId;
        if (typeof activityId !== 'string')
          throw new Error(`seeding an activity failed: ${JSON.stringify(logged)}`);
        if (i % 2 === 0)
          await send(
            `/v1/participants/${id}/activities/${activityId}/verification`,
            staff,
            {},
            'verify',
          );
      }
      participants[index] = { id, society, token };
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  if (tally.refused > 0 || tally.abandoned > 0)
    throw new Error(
      `seeding: ${tally.refused} refused, ${tally.abandoned} abandoned: ${JSON.stringify([...tally.refusals])}`,
    );
  return participants;
}

// ---------------------------------------------------------------------------------------------
// The load

type KindStats = { latencies: number[]; statuses: Map<number, number> };

type Load = {
  readonly result: autocannon.Result;
  readonly kinds: Map<Kind, KindStats>;
  /** A few answers other than 2xx, to say what went wrong. */
  readonly samples: string[];
};

/** What a request's autocannon context carries from its setup to its answer. */
type Sent = { kind: Kind; sentAt: number };

let commandCounter = 0;

/** autocannon against `url` for `seconds`: each request of a kind drawn from MIX, on anyone. */
async function drive(
  url: string,
  seconds: number,
  participants: readonly Participant[],
  tokens: Tokens,
): Promise<Load> {
  const kinds = new Map<Kind, KindStats>(
    KINDS.map((kind) => [kind, { latencies: [], statuses: new Map() }]),
  );
  const samples: string[] = [];
  const pick = () => participants[Math.floor(Math.random() * participants.length)]!;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 15,
    requests: [
      {
        setupRequest: (request, context) => {
          const kind = drawKind();
          Object.assign(context, { kind, sentAt: performance.now() } satisfies Sent);
          const person = pick();
          const read = (path: string, token: string): autocannon.Request => ({
            ...request,
            method: 'GET',
            path,
            headers: { authorization: `Bearer ${token}` },
            body: '',
          });
          switch (kind) {
            case 'progress':
              return read(`/v1/participants/${person.id}/progress`, person.token);
            case 'timeline':
              return read(`/v1/participants/${person.id}/timeline`, person.token);
            case 'dashboard': {
              // A wall screen (the whole programme, or one society) or staff of a society.
              const variant = Math.floor(Math.random() * 3);
              const society = person.society;
              if (variant === 0)
                return read(`/v1/programmes/${PROGRAMME_ID}/dashboard`, tokens.dashboard);
              const token = variant === 1 ? tokens.dashboard : tokens.staff.get(society)!;
              return read(`/v1/programmes/${PROGRAMME_ID}/dashboard?society=${society}`, token);
            }
            case 'activity':
              return {
                ...request,
                method: 'POST',
                path: `/v1/participants/${person.id}/activities`,
                headers: {
                  authorization: `Bearer ${tokens.staff.get(person.society)!}`,
                  'content-type': 'application/json',
                  'idempotency-key': randomUUID(),
                },
                body: JSON.stringify(activityBody(commandCounter++)),
              };
          }
        },
        onResponse: (status, body, context) => {
          const sent = context as Sent;
          const stats = kinds.get(sent.kind)!;
          stats.latencies.push(performance.now() - sent.sentAt);
          stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
          if ((status < 200 || status >= 300) && samples.length < 5)
            samples.push(`${sent.kind} ${status}: ${body.slice(0, 300)}`);
        },
      },
    ],
  });
  return { result, kinds, samples };
}

// ---------------------------------------------------------------------------------------------
// One step: N api instances behind the proxy

type StepFigures = { readonly rps: number; readonly p99: number };

/** What our database's client backends are doing at one instant (pg_stat_activity). */
type PgActivity = {
  readonly backends: number;
  /** Running a statement. */
  readonly active: number;
  /** `type:event` of each running backend that waits (Lock:transactionid, IO:WALSync…). */
  readonly waits: readonly string[];
  /** The statement (its first words) of each backend waiting for a lock. */
  readonly lockedStatements: readonly string[];
};

async function step(
  label: string,
  apis: readonly Service[],
  projector: Service,
  participants: readonly Participant[],
  tokens: Tokens,
  cpuGroups: (proxyPid: number) => Group[],
  activity: () => Promise<PgActivity>,
): Promise<StepFigures> {
  say(`\n${label}: ${apis.length} api instance(s) behind the proxy`);
  const proxy = await startProxy(apis);
  try {
    const warm = await drive(proxy.url, WARMUP_S, participants, tokens);
    say(
      `  warm-up ${WARMUP_S} s: ${Math.round(warm.result.requests.average)} req/s, ${warm.result.non2xx} non-2xx`,
    );
    const groups = cpuGroups(proxy.pid);
    // While the load runs: the projector's lag every 250 ms, and what the database's backends
    // are doing every 100 ms.
    const lags: number[] = [];
    const pg = {
      samples: 0,
      backendsMax: 0,
      active: 0,
      waits: new Map<string, number>(),
      locked: new Map<string, number>(),
    };
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const seen = await projectionsOf(projector);
        if (seen && seen.count > 0) lags.push(Math.max(0, seen.head - seen.lowest));
        await sleep(250);
      }
    })();
    const watch = (async () => {
      while (polling) {
        const now = await activity().catch(() => undefined);
        if (now) {
          pg.samples += 1;
          pg.backendsMax = Math.max(pg.backendsMax, now.backends);
          pg.active += now.active;
          for (const wait of now.waits) pg.waits.set(wait, (pg.waits.get(wait) ?? 0) + 1);
          for (const statement of now.lockedStatements)
            pg.locked.set(statement, (pg.locked.get(statement) ?? 0) + 1);
        }
        await sleep(100);
      }
    })();
    const before = await sampleCpu(groups);
    const headBefore = (await projectionsOf(projector))?.head ?? 0;
    const load = await drive(proxy.url, STEP_S, participants, tokens);
    const after = await sampleCpu(groups);
    polling = false;
    await Promise.all([poll, watch]);
    const headAfter = (await projectionsOf(projector))?.head ?? 0;
    const failedUpstream = await proxy.stop();

    const { result } = load;
    const name = `scale.${label}`;
    report({ name: `${name}.rps`, value: result.requests.average, unit: 'req/s' });
    report({ name: `${name}.p50`, value: result.latency.p50, unit: 'ms', decimals: 1 });
    report({ name: `${name}.p99`, value: result.latency.p99, unit: 'ms', decimals: 1 });
    report({
      name: `${name}.non2xx`,
      value: result.non2xx,
      unit: 'count',
      note: `of ${result.requests.total}`,
    });
    report({
      name: `${name}.errors`,
      value: result.errors + result.timeouts + Math.max(0, failedUpstream),
      unit: 'count',
      note: `connection errors ${result.errors}, timeouts ${result.timeouts}, proxy 502s ${failedUpstream}`,
    });
    for (const kind of KINDS) {
      const stats = load.kinds.get(kind)!;
      const others = [...stats.statuses].filter(([status]) => status < 200 || status >= 300);
      report({
        name: `${name}.${kind}.rps`,
        value: stats.latencies.length / result.duration,
        unit: 'req/s',
        ...(others.length > 0
          ? { note: others.map(([status, count]) => `${count} × ${status}`).join(', ') }
          : {}),
      });
      report({
        name: `${name}.${kind}.p50`,
        value: percentile(stats.latencies, 50),
        unit: 'ms',
        decimals: 1,
      });
      report({
        name: `${name}.${kind}.p99`,
        value: percentile(stats.latencies, 99),
        unit: 'ms',
        decimals: 1,
      });
    }
    for (const sample of load.samples) say(`    non-2xx: ${sample}`);
    report({
      name: `${name}.events_per_s`,
      value: (headAfter - headBefore) / result.duration,
      unit: 'events/s',
      note: 'the log head, as the projector saw it',
    });
    report({ name: `${name}.lag_max`, value: Math.max(0, ...lags), unit: 'events' });
    report({
      name: `${name}.lag_mean`,
      value: lags.length ? lags.reduce((sum, lag) => sum + lag, 0) / lags.length : 0,
      unit: 'events',
      note: `${lags.length} samples, every 250 ms`,
    });
    report({ name: `${name}.pg_backends_max`, value: pg.backendsMax, unit: 'count' });
    const perSample = (count: number) => count / Math.max(1, pg.samples);
    report({
      name: `${name}.pg_active_mean`,
      value: perSample(pg.active),
      unit: 'backends',
      decimals: 1,
      note: `running a statement, ${pg.samples} samples every 100 ms`,
    });
    const lockWaits = [...pg.waits]
      .filter(([wait]) => wait.startsWith('Lock:'))
      .reduce((sum, [, count]) => sum + count, 0);
    const topWaits = [...pg.waits]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([wait, count]) => `${wait} ${perSample(count).toFixed(1)}`);
    report({
      name: `${name}.pg_lock_waits_mean`,
      value: perSample(lockWaits),
      unit: 'backends',
      decimals: 1,
      note: `waiting for a lock; most frequent waits: ${topWaits.join(', ') || 'none'}`,
    });
    const [statement, waited] = [...pg.locked].sort((a, b) => b[1] - a[1])[0] ?? [];
    if (statement !== undefined)
      say(
        `    most waited-for statement (${Math.round((100 * waited!) / lockWaits)} % of lock waits): ${statement}`,
      );

    const { groups: cores, machine } = coresBetween(before, after);
    let ours = 0;
    let api = 0;
    for (const [group, used] of cores) {
      ours += used;
      if (group.startsWith('api')) api += used;
      report({ name: `${name}.cpu.${group}`, value: used, unit: 'cores', decimals: 2 });
    }
    report({
      name: `${name}.cpu.api`,
      value: api,
      unit: 'cores',
      decimals: 2,
      note: 'all api instances',
    });
    report({ name: `${name}.cpu.ours`, value: ours, unit: 'cores', decimals: 2 });
    report({
      name: `${name}.cpu.machine`,
      value: machine,
      unit: 'cores',
      decimals: 2,
      note: `of ${cpus().length}`,
    });
    report({
      name: `${name}.cpu.other`,
      value: Math.max(0, machine - ours),
      unit: 'cores',
      decimals: 2,
      note: 'the machine less our processes: other work',
    });
    const requests = result.requests.total;
    report({
      name: `${name}.api_cpu_ms_per_req`,
      value: (api * result.duration * 1000) / requests,
      unit: 'ms',
      decimals: 3,
    });
    report({
      name: `${name}.cpu_ms_per_req`,
      value: (ours * result.duration * 1000) / requests,
      unit: 'ms',
      decimals: 3,
      note: 'every process of ours: api, projector, PostgreSQL, proxy, load',
    });
    return { rps: result.requests.average, p99: result.latency.p99 };
  } catch (error) {
    await proxy.stop().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  const database = `bench_scale_${Date.now()}_${process.pid}`;
  say(
    `Scale-out: BENCH_SCALE=${SCALE}, ${MIX_NAME} mix, ${POPULATION} participants per step, ` +
      `${CONNECTIONS} connections, ` +
      `${WARMUP_S} s warm-up + ${STEP_S} s per step; ${cpus().length} cores, load average ` +
      `${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}; work dir ${work}`,
  );
  const url = await createDatabase(ADMIN_URL, database);
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const services: Service[] = [];
  let failed = true;
  try {
    const shared = {
      HOST: '127.0.0.1',
      EVENT_STORE: 'postgres',
      READ_MODEL_STORE: 'postgres',
      KEY_STORE: 'postgres',
      DATABASE_URL: url,
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      DOCS_ENABLED: 'false',
    };
    const instance = async (name: string, role: 'api' | 'projector') => {
      const service = new Service(
        {
          ...shared,
          PORT: String(await freePort()),
          DATA_DIR: join(work, name),
          PROCESS_ROLE: role,
        },
        join(work, `${name}.log`),
      );
      services.push(service);
      await service.start();
      return service;
    };
    const projector = await instance('projector', 'projector');
    const apis = [await instance('api1', 'api')];
    const tokens = await mintTokens();

    const seedStarted = Date.now();
    const tally = new Tally();
    // A cohort for each step: 1, 2, 3 instances, then 1 again.
    const steps = INSTANCE_COUNTS.length + 1;
    const participants = await seed(apis[0]!.url, tokens, tally, POPULATION * steps);
    const cohort = (index: number) =>
      participants.slice(index * POPULATION, (index + 1) * POPULATION);
    const caughtUp = await timeUntil(
      async () => {
        const seen = await projectionsOf(projector);
        return seen !== undefined && seen.count > 0 && seen.lowest >= seen.head;
      },
      Date.now(),
      120_000,
    );
    if (caughtUp === undefined) throw new Error('the projector did not catch up with the seed');
    const seeded = await projectionsOf(projector);
    say(
      `Seeded ${participants.length} participants in ${SOCIETIES.length} societies: ` +
        `${tally.acknowledged} commands, ${seeded?.head ?? 0} events, ` +
        `${Math.round((Date.now() - seedStarted) / 1000)} s`,
    );
    report({
      name: 'scale.population',
      value: POPULATION,
      unit: 'participants',
      note: `per step; ${participants.length} in all`,
    });
    report({ name: 'scale.seed_events', value: seeded?.head ?? 0, unit: 'events' });

    const pgPids = async (clause: string, params: unknown[] = []) =>
      (
        await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE ${clause}`,
          params,
        )
      ).rows.map((row) => row.pid);
    const cpuGroups = (proxyPid: number): Group[] => [
      ...apis.map((service, index) => ({ name: `api${index + 1}`, pids: () => [service.pid!] })),
      { name: 'projector', pids: () => [projector.pid!] },
      { name: 'proxy', pids: () => [proxyPid] },
      { name: 'loadgen', pids: () => [process.pid] },
      { name: 'postgres', pids: () => pgPids('datname = $1', [database]) },
      {
        // The server's own processes (WAL writer, checkpointer…), shared with other databases.
        name: 'postgres_server',
        pids: () => pgPids('datname IS NULL'),
      },
    ];
    const activity = async (): Promise<PgActivity> => {
      const { rows } = await admin.query<{
        state: string | null;
        wait_event_type: string | null;
        wait_event: string | null;
        query: string;
      }>(
        `SELECT state, wait_event_type, wait_event, left(query, 100) AS query FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend'`,
        [database],
      );
      const running = rows.filter((row) => row.state === 'active');
      return {
        backends: rows.length,
        active: running.length,
        waits: running
          .filter((row) => row.wait_event_type !== null)
          .map((row) => `${row.wait_event_type}:${row.wait_event}`),
        lockedStatements: running
          .filter((row) => row.wait_event_type === 'Lock')
          .map((row) => row.query.replace(/\s+/g, ' ').trim()),
      };
    };

    const figures = new Map<number, StepFigures>();
    for (const [index, count] of INSTANCE_COUNTS.entries()) {
      while (apis.length < count) apis.push(await instance(`api${apis.length + 1}`, 'api'));
      figures.set(
        count,
        await step(`${count}api`, apis, projector, cohort(index), tokens, cpuGroups, activity),
      );
    }

    // Read-your-writes across instances: written through one, read through another.
    const write = await fetch(`${apis[0]!.url}/v1/participants/${participants[0]!.id}/activities`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.staff.get(participants[0]!.society)!}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(activityBody(commandCounter++)),
    });
    const { position } = (await write.json()) as { position: number };
    const readStarted = performance.now();
    const read = await fetch(
      `${apis.at(-1)!.url}/v1/participants/${participants[0]!.id}/progress?minPosition=${position}`,
      { headers: { authorization: `Bearer ${participants[0]!.token}` } },
    );
    if (!read.ok) throw new Error(`read-your-writes across instances answered ${read.status}`);
    report({
      name: 'scale.ryw_cross_instance',
      value: performance.now() - readStarted,
      unit: 'ms',
      decimals: 1,
      note: 'minPosition read on api3 of a write through api1, idle',
    });

    // One instance again, on a fresh cohort, after the three steps grew the log: how much did
    // the figures drift (the machine's other work, the log and read models grown)?
    for (const service of apis.splice(1)) await service.kill('SIGTERM');
    const end = await step(
      '1api_end',
      apis,
      projector,
      cohort(steps - 1),
      tokens,
      cpuGroups,
      activity,
    );

    const one = figures.get(1)!;
    for (const count of INSTANCE_COUNTS.slice(1))
      report({
        name: `scale.ratio_${count}v1`,
        value: figures.get(count)!.rps / one.rps,
        unit: 'ratio',
        decimals: 2,
        note: `throughput; p99 ${Math.round(one.p99)} → ${Math.round(figures.get(count)!.p99)} ms`,
      });
    report({
      name: 'scale.ratio_1end_v1',
      value: end.rps / one.rps,
      unit: 'ratio',
      decimals: 2,
      note: 'one instance again at the end, on its own cohort: drift of the machine and the log',
    });
    // The steps ran in the order 1, 2, 3, 1: against the mean of the two single-instance steps,
    // a drift that is steady over the run mostly cancels out.
    const bracket = (one.rps + end.rps) / 2;
    for (const count of INSTANCE_COUNTS.slice(1))
      report({
        name: `scale.ratio_${count}v1_bracketed`,
        value: figures.get(count)!.rps / bracket,
        unit: 'ratio',
        decimals: 2,
        note: 'throughput against the mean of the first and the last single-instance steps',
      });

    // The projector reaches the log head, and so do the api instances following it.
    const settleStarted = Date.now();
    const atHead = await timeUntil(
      async () => {
        const seen = await projectionsOf(projector);
        return seen !== undefined && seen.count > 0 && seen.lowest >= seen.head;
      },
      settleStarted,
      120_000,
    );
    if (atHead === undefined) throw new Error('the projector did not reach the log head');
    report({
      name: 'scale.catch_up',
      value: atHead,
      unit: 'ms',
      note: 'after the last step, until every read model is at the log head',
    });
    const ready = await fetch(`${projector.url}/health/ready`);
    report({ name: 'scale.projector_ready_status', value: ready.status, unit: 'status' });
    const head = (await projectionsOf(projector))?.head ?? 0;
    report({ name: 'scale.events', value: head, unit: 'events', note: 'in the log at the end' });
    report({
      name: 'scale.crashes',
      value: services.reduce((sum, service) => sum + service.crashes, 0),
      unit: 'count',
    });
    if (VERIFY) {
      const verifyStarted = Date.now();
      const verified = await cli(services[0]!.env, 'verify');
      report({
        name: 'scale.verify_failed',
        value: verified.code === 0 ? 0 : 1,
        unit: 'count',
        note: `cli verify: hash chains, read models against a fresh replay (${Math.round((Date.now() - verifyStarted) / 1000)} s)`,
      });
      if (verified.code !== 0) say(verified.output);
    }
    report({ name: 'scale.run_s', value: (Date.now() - started) / 1000, unit: 's' });
    failed = ready.status !== 200;
  } finally {
    for (const service of services) await service.kill('SIGTERM').catch(() => undefined);
    await admin.end();
    await dropDatabase(ADMIN_URL, database).catch(() => undefined);
    if (!failed && process.env.BENCH_KEEP !== '1') rmSync(work, { recursive: true, force: true });
    else say(`The services' logs are kept in ${work}`);
  }
  printBenchLines();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
