// Building blocks of the fault suite: the service as a child process, clients that retry with
// the same Idempotency-Key, and the checks of the log against what was acknowledged.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { mintToken } from '../../src/auth/tokens';
import type { RecordedEvent } from '../../src/event-sourcing';
import { PILLAR_CATEGORIES } from '../../src/programmes/domain/programme';
import type { Role } from '../../src/shared/principal';
import { PostgresEventStore } from '../../src/stores/postgres/postgres-event-store';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';

export const ROOT = join(__dirname, '../..');
export const SECRET = 'fault-suite-secret-0123456789abcdef0123';
const run = promisify(execFile);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type ServiceEnv = Readonly<Record<string, string>>;

/**
 * The service (src/main.ts from the sources) as a child process. It is restarted when it exits
 * on its own (a supervisor would), and such exits are counted.
 */
export class Service {
  private child: ChildProcess | undefined;
  private expectingExit = false;
  /** Exits the suite did not cause. */
  crashes = 0;
  readonly url: string;

  constructor(
    readonly env: ServiceEnv,
    private readonly logFile: string,
  ) {
    this.url = `http://127.0.0.1:${env.PORT}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and waits until /health/live answers. */
  async start(timeoutMs = 120_000): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.expectingExit = false;
    this.child = child;
    child.once('exit', () => {
      if (this.child !== child) return;
      this.child = undefined;
      if (!this.expectingExit) {
        this.crashes += 1;
        void this.start().catch(() => undefined);
      }
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.url}/health/live`, {
          signal: AbortSignal.timeout(2000),
        });
        if (response.ok) return;
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`the service did not start within ${timeoutMs} ms (log: ${this.logFile})`);
  }

  /** kill -9, and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  }
}

/** Runs the CLI from the sources with the service's settings; resolves to its exit code. */
export async function cli(
  env: ServiceEnv,
  ...args: string[]
): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      ['-r', '@swc-node/register', 'src/cli/index.ts', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 64 << 20 },
    );
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Load: clients, each a student going through the programme, recording every acknowledgement.

export type Ack = {
  readonly commandId: string;
  readonly kind: string;
  readonly position: number;
  readonly activityId?: string;
};

/** What one kind of fault measured; shared by every client of the run. */
export class Tally {
  sent = 0;
  acknowledged = 0;
  refused = 0;
  abandoned = 0;
  /** Abandoned after 409 IDEMPOTENCY_IN_PROGRESS for 15 s: a claim left by a killed process. */
  stuckInProgress = 0;
  readonly acks: Ack[] = [];
  readonly refusals = new Map<string, number>();
  private downSince: number | undefined;
  unavailableMs = 0;
  /** Set at an injection: the next acknowledgement closes it as a recovery time. */
  private recoverySince: number | undefined;
  readonly recoveriesMs: number[] = [];

  failedAttempt(): void {
    this.downSince ??= Date.now();
  }

  acknowledge(ack: Ack): void {
    const now = Date.now();
    this.acknowledged += 1;
    this.acks.push(ack);
    if (this.downSince !== undefined) {
      this.unavailableMs += now - this.downSince;
      this.downSince = undefined;
    }
    if (this.recoverySince !== undefined) {
      this.recoveriesMs.push(now - this.recoverySince);
      this.recoverySince = undefined;
    }
  }

  refuse(status: number, code: string): void {
    this.refused += 1;
    const key = `${status} ${code}`;
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
  }

  /** The fault is over (the service restarted, the database is back): recovery counts from now. */
  markRecoveryStart(at = Date.now()): void {
    this.recoverySince = at;
  }

  /** Waits (up to `timeoutMs`) until the open recovery, if any, has closed. */
  async recovered(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.recoverySince !== undefined && Date.now() < deadline) await sleep(100);
    return this.recoverySince === undefined;
  }

  /** Closes an open unavailable stretch at the end of a run. */
  finish(): void {
    if (this.downSince !== undefined) this.unavailableMs += Date.now() - this.downSince;
    this.downSince = undefined;
  }
}

type Tokens = Readonly<Record<'admin' | 'staff' | 'auditor', string>>;

export async function staffTokens(): Promise<Tokens> {
  const secret = new TextEncoder().encode(SECRET);
  return {
    admin: await mintToken({ role: 'programme_admin', sub: 'fault-admin' }, secret),
    staff: await mintToken({ role: 'society_staff', sub: 'staff-B33', society: 'B33' }, secret),
    auditor: await mintToken({ role: 'auditor', sub: 'fault-auditor' }, secret),
  };
}

export async function studentToken(role: Role, sub: string): Promise<string> {
  return mintToken({ role, sub }, new TextEncoder().encode(SECRET));
}

export const PROGRAMME = 'faults-2026';

/** A programme open for the whole run: DTDP 2025's rules, rolling admission, a high quota. */
export const PROGRAMME_RULES = {
  programmeId: PROGRAMME,
  name: 'Fault suite programme',
  timeZone: 'Asia/Shanghai',
  applicationDeadline: '2027-06-30',
  startDate: '2026-01-01',
  eligibleNationalities: ['CN'],
  enrolmentTypes: ['full_time'],
  degreeLevels: ['doctoral'],
  minRemainingStudyMonths: 24,
  recommendationQuota: 1000,
  durationMonths: 24,
  requiredHours: 240,
  societies: [{ code: 'B33', name: 'China Rare Earth Society' }],
};

const FORM = {
  fullName: 'Li Wei',
  nationality: 'CN',
  enrolmentType: 'full_time',
  degreeLevel: 'doctoral',
  institution: 'Institute of Process Engineering, CAS',
  expectedGraduationDate: '2031-07-01',
  researchField: 'separation chemistry',
  preferredSocietyCode: 'B33',
};

export type Load = {
  readonly stop: () => Promise<void>;
};

export type CommandResult = { readonly status: number; readonly body: Record<string, unknown> };

/**
 * Sends one command until it is answered below 500 (other than "still running"), retrying on
 * connection errors, 5xx and 409 IDEMPOTENCY_IN_PROGRESS with the same Idempotency-Key and
 * correlation id. Gives up (unacknowledged, not lost) when `stopped()` says so and
 * `giveUpMs` has passed.
 */
async function command(
  tally: Tally,
  baseUrl: () => string,
  stopped: () => boolean,
  path: string,
  token: string,
  body: unknown,
  kind: string,
): Promise<CommandResult | undefined> {
  const commandId = randomUUID();
  tally.sent += 1;
  const started = Date.now();
  let delay = 50;
  let inProgressSince: number | undefined;
  for (;;) {
    try {
      const response = await fetch(`${baseUrl()}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'idempotency-key': commandId,
          'x-correlation-id': commandId,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      const code = typeof answer.code === 'string' ? answer.code : '';
      const retry =
        response.status >= 500 ||
        response.status === 429 ||
        (response.status === 409 && code === 'IDEMPOTENCY_IN_PROGRESS');
      if (!retry) {
        if (response.status < 300) {
          const position = typeof answer.position === 'number' ? answer.position : -1;
          const activityId = typeof answer.activityId === 'string' ? answer.activityId : undefined;
          tally.acknowledge({ commandId, kind, position, ...(activityId ? { activityId } : {}) });
        } else {
          tally.refuse(response.status, code || kind);
        }
        return { status: response.status, body: answer };
      }
      if (response.status === 409) {
        inProgressSince ??= Date.now();
        // A claim the killed process left: the service keeps it until IDEMPOTENCY_TTL, so a
        // client would give up; so does this one, and counts it.
        if (Date.now() - inProgressSince > 15_000) {
          tally.stuckInProgress += 1;
          tally.abandoned += 1;
          return undefined;
        }
      } else tally.failedAttempt();
    } catch {
      tally.failedAttempt();
    }
    // Generous: a command is retried for up to 5 minutes, or until the load is stopped.
    if (stopped() && Date.now() - started > 2_000) break;
    if (Date.now() - started > 300_000) break;
    await sleep(delay);
    delay = Math.min(1000, delay * 2);
  }
  tally.abandoned += 1;
  return undefined;
}

const PILLAR_CATEGORY = [
  ['political', PILLAR_CATEGORIES.political[0]],
  ['professional', PILLAR_CATEGORIES.professional[3]],
  ['social', PILLAR_CATEGORIES.social[0]],
] as const;

/** Sends one command, retried as `command` does and counted in a tally. */
export type Send = (
  path: string,
  token: string,
  body: unknown,
  kind: string,
) => Promise<CommandResult | undefined>;

/** A `Send` through `baseUrl()`, counting in `tally`; it gives up sooner once `stopped()`. */
export function sender(tally: Tally, baseUrl: () => string, stopped = () => false): Send {
  return (path, token, body, kind) => command(tally, baseUrl, stopped, path, token, body, kind);
}

/**
 * One student through admission: applies to `programmeId` for `society`, is recommended by
 * `staff` (of that society), matched to it and enrolled by `admin`. The participant id, or
 * undefined when a step was refused or given up, or when `stopped()` before enrolment.
 */
export async function enrolStudent(
  send: Send,
  student: {
    readonly programmeId: string;
    readonly sub: string;
    readonly society: string;
    readonly staff: string;
    readonly admin: string;
    readonly stopped?: () => boolean;
  },
): Promise<string | undefined> {
  const applicant = await studentToken('applicant', student.sub);
  const submitted = await send(
    `/v1/programmes/${student.programmeId}/applications`,
    applicant,
    { ...FORM, preferredSocietyCode: student.society },
    'submit',
  );
  const applicationId = submitted?.body.applicationId;
  if (typeof applicationId !== 'string') return undefined;
  for (const [step, body] of [
    ['recommendation', { note: 'strong candidate' }],
    ['match', { mentoringSocietyCode: student.society }],
  ] as const) {
    const token = step === 'recommendation' ? student.staff : student.admin;
    const answer = await send(`/v1/applications/${applicationId}/${step}`, token, body, step);
    if (!answer || answer.status >= 300 || student.stopped?.()) return undefined;
  }
  const enrolled = await send(
    `/v1/applications/${applicationId}/enrolment`,
    student.admin,
    { startDate: '2026-01-01' },
    'enrol',
  );
  const participantId = enrolled?.body.participantId;
  return typeof participantId === 'string' ? participantId : undefined;
}

/**
 * Starts `clients` concurrent students: each applies, is recommended, matched and enrolled, then
 * logs activities and has every other one verified, until stopped. Returns a handle to stop them.
 */
export function startLoad(options: {
  readonly tally: Tally;
  readonly baseUrl: () => string;
  readonly clients: number;
  readonly tokens: Tokens;
  readonly runId: string;
  readonly thinkMs?: number;
}): Load {
  let stopped = false;
  const isStopped = () => stopped;
  const { tally, baseUrl, tokens } = options;
  const send = sender(tally, baseUrl, isStopped);
  const client = async (index: number) => {
    const sub = `fault-${options.runId}-${index}`;
    const participant = await studentToken('participant', sub);
    const participantId = await enrolStudent(send, {
      programmeId: PROGRAMME,
      sub,
      society: 'B33',
      staff: tokens.staff,
      admin: tokens.admin,
      stopped: isStopped,
    });
    if (participantId === undefined) return;
    for (let i = 0; !stopped; i += 1) {
      const [pillar, category] = PILLAR_CATEGORY[i % 3]!;
      const logged = await send(
        `/v1/participants/${participantId}/activities`,
        participant,
        {
          pillar,
          category,
          title: `Fault suite activity ${i} of ${sub}`,
          occurredOn: `2026-0${1 + (i % 9)}-1${i % 10}`,
          hours: 1 + (i % 4),
        },
        'log',
      );
      const activityId = logged?.body.activityId;
      if (i % 2 === 0 && typeof activityId === 'string' && !stopped) {
        await send(
          `/v1/participants/${participantId}/activities/${activityId}/verification`,
          tokens.staff,
          {},
          'verify',
        );
      }
      if (options.thinkMs) await sleep(options.thinkMs);
    }
  };
  // A student whose enrolment could not be completed is replaced by a new one.
  let next = 0;
  const slot = async () => {
    while (!stopped) await client(next++).catch(() => undefined);
  };
  const running = Promise.all(Array.from({ length: options.clients }, slot));
  return {
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** Defines the run's programme (once; idempotent when it exists with the same rules). */
export async function defineProgramme(tally: Tally, baseUrl: string, tokens: Tokens) {
  const answer = await command(
    tally,
    () => baseUrl,
    () => false,
    '/v1/programmes',
    tokens.admin,
    PROGRAMME_RULES,
    'programme',
  );
  if (!answer || answer.status >= 300)
    throw new Error(`defining the programme failed: ${JSON.stringify(answer)}`);
}

// ---------------------------------------------------------------------------------------------
// Instances seen from outside.

/** What an instance's /metrics says of the projections. */
export type ProjectionsSeen = {
  readonly head: number;
  readonly leading: number;
  readonly lowest: number;
  readonly count: number;
};

export async function projectionsOf(service: Service): Promise<ProjectionsSeen | undefined> {
  try {
    const response = await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return undefined;
    const text = await response.text();
    const values = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}\\{projection="[^"]+"\\} (\\d+)$`, 'gm'))].map(
        (match) => Number(match[1]),
      );
    const head = /^event_store_head_position (\d+)$/m.exec(text);
    const positions = values('projection_checkpoint_position');
    return {
      head: head ? Number(head[1]) : 0,
      leading: values('projection_leader').filter((value) => value === 1).length,
      lowest: Math.min(...positions),
      count: positions.length,
    };
  } catch {
    return undefined;
  }
}

/** Polls `probe` every 50 ms until it holds; the time it took, or undefined after `timeoutMs`. */
export async function timeUntil(
  probe: () => Promise<boolean>,
  since: number,
  timeoutMs: number,
): Promise<number | undefined> {
  while (Date.now() - since < timeoutMs) {
    if (await probe()) return Date.now() - since;
    await sleep(50);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Checks of the log, read straight from the store with the service stopped.

export type StoreSettings =
  | { readonly kind: 'sqlite'; readonly fileName: string }
  | { readonly kind: 'postgres'; readonly url: string };

export async function readLog(settings: StoreSettings): Promise<RecordedEvent[]> {
  const store =
    settings.kind === 'sqlite'
      ? new SqliteEventStore({ fileName: settings.fileName })
      : new PostgresEventStore({ connectionString: settings.url });
  try {
    const events: RecordedEvent[] = [];
    for (;;) {
      const page = await store.readAll(events.at(-1)?.position ?? 0, 5000);
      if (page.length === 0) return events;
      events.push(...page);
    }
  } finally {
    await store.close();
  }
}

export type LogCheck = {
  readonly events: number;
  /** Acknowledged commands whose event is not at the acknowledged position. */
  readonly lost: number;
  /** Events beyond the first of one type caused by one command (correlation id). */
  readonly duplicated: number;
  /** Positions missing between 1 and the head, or out of order. */
  readonly gaps: number;
  readonly details: string[];
};

/** Every acknowledged command's event is in the log exactly once, at the position answered. */
export function checkLog(events: readonly RecordedEvent[], acks: readonly Ack[]): LogCheck {
  const details: string[] = [];
  const byPosition = new Map<number, RecordedEvent>();
  let gaps = 0;
  events.forEach((event, index) => {
    byPosition.set(event.position, event);
    if (event.position !== index + 1) gaps += 1;
  });
  const perCommand = new Map<string, number>();
  for (const event of events) {
    const key = `${event.metadata.correlationId} ${event.streamName} ${event.type}`;
    perCommand.set(key, (perCommand.get(key) ?? 0) + 1);
  }
  let lost = 0;
  for (const ack of acks) {
    if (ack.position < 0) continue;
    const event = byPosition.get(ack.position);
    const activityOk =
      ack.activityId === undefined ||
      (event?.data as { activityId?: unknown } | undefined)?.activityId === ack.activityId;
    if (!event || event.metadata.correlationId !== ack.commandId || !activityOk) {
      lost += 1;
      if (details.length < 20)
        details.push(
          `lost: ${ack.kind} ${ack.commandId} acknowledged at position ${ack.position}, found ${event ? `${event.type} of ${event.metadata.correlationId}` : 'nothing'}`,
        );
    }
  }
  let duplicated = 0;
  const ours = new Set(acks.map((ack) => ack.commandId));
  for (const [key, count] of perCommand) {
    if (count > 1 && ours.has(key.split(' ')[0]!)) {
      duplicated += count - 1;
      if (details.length < 40) details.push(`duplicated: ${count} × ${key}`);
    }
  }
  return { events: events.length, lost, duplicated, gaps, details };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a fresh database on the machine's server, or a cluster of our own.

export const ADMIN_URL =
  process.env.FAULTS_POSTGRES_URL ??
  process.env.TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
