import type { LightMyRequestResponse } from 'fastify';
import { ROLES, type Role } from '../../src/shared/principal';
import { DTDP_2025 } from '../../src/programmes/domain/programme';
import { FixedClock } from '../../src/shared/clock';
import { freshEnv, startApp, type StoreKind, type TestApp } from '../support/app';
import { eligibleForm } from '../support/programme-fixtures';
import { servedRoutes, templateOfOpenApiPath, type ServedRoute } from '../support/routes';

/*
 * Who may call what (docs/API.md, "Authentication", "Commands", "Queries"), for every route the app
 * serves, every role, own and another society, self and another student; the API conventions
 * ("Errors", "Queries") over the OpenAPI document; and what the dashboard role may see
 * ("Privacy").
 *
 * The routes come from the running app's controllers (test/support/routes.ts), and ROUTES below
 * says, per route template, what docs/API.md allows and how to fill a request. A route with no row
 * fails the first test, naming it: adding its row is all it takes to cover it.
 */

const OWN_SOCIETY = 'B33';
// No programme of the seed has a second society; the matrix programme below adds C01, so staff
// of "another society" are staff of a society with applicants and participants of its own.
const OTHER_SOCIETY = 'C01';
const PROGRAMME = 'matrix-2026';
// Inside the window of every participant enrolled below (2026-01-01 to 2028-01-01), and before
// the matrix programme's deadline (rolling admission), so every stage can be reached today.
const TODAY = '2026-07-02T10:00:00+08:00';

/** The matrix programme: DTDP 2025's rules, open to applications after its start, two societies. */
const MATRIX_RULES = {
  ...DTDP_2025,
  programmeId: PROGRAMME,
  name: 'Access matrix programme',
  applicationDeadline: '2027-06-30',
  startDate: '2026-01-01',
  // Every allowed command case recommends its own candidate.
  recommendationQuota: 1000,
  societies: [
    { code: OWN_SOCIETY, name: 'China Rare Earth Society' },
    { code: OTHER_SOCIETY, name: 'Another Society' },
  ],
};

// ---------------------------------------------------------------------------------------------
// Callers: every role of ROLES, students as the owner ("self") or another student, staff of the
// target's society or of another one. A role added to ROLES is a new caller here.

type Caller = {
  readonly name: string;
  /** null: no token. */
  readonly role: Role | null;
  /** Students: the target's owner or another student; staff: its society or another. */
  readonly relation: 'self' | 'other' | null;
};

const STUDENT_ROLES: readonly Role[] = ['applicant', 'participant'];

const CALLERS: readonly Caller[] = [
  { name: 'no token', role: null, relation: null },
  ...ROLES.flatMap((role): Caller[] => {
    if (STUDENT_ROLES.includes(role))
      return [
        { name: `${role} (self)`, role, relation: 'self' },
        { name: `${role} (another student)`, role, relation: 'other' },
      ];
    if (role === 'society_staff')
      return [
        { name: `society_staff ${OWN_SOCIETY} (own society)`, role, relation: 'self' },
        { name: `society_staff ${OTHER_SOCIETY} (another society)`, role, relation: 'other' },
      ];
    return [{ name: role, role, relation: null }];
  }),
];

// ---------------------------------------------------------------------------------------------
// The table: one row per route template.

/** What a request is about: path parameters, body, and whose it is. */
type Target = {
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  /** The student a "self" caller is. */
  readonly sub: string;
  /** The student "another student" is. */
  readonly otherSub: string;
  /** The society whose staff are "own society". */
  readonly society: string;
};

type Row = {
  /** The roles docs/API.md allows; 'public' needs no token (health, metrics, the dashboard page). */
  readonly roles: readonly Role[] | 'public';
  /**
   * The target is one student's, in one society: another student, or staff of another society,
   * get 404, the answer for a missing id (docs/API.md, "Authentication").
   */
  readonly owned: boolean;
  /** The status an allowed caller gets in the state `arrange` builds. */
  readonly ok: number;
  /**
   * The request's target. Reads use the shared cohort; a route that changes state builds a fresh
   * one on every call, since it is called once for the refused callers and once per allowed one.
   */
  readonly arrange: (f: Fixture) => Target | Promise<Target>;
};

const ANY_ROLE: readonly Role[] = ROLES;
const STAFF_AND_UP: readonly Role[] = ['society_staff', 'programme_admin', 'auditor'];
/** "the participant (applicant), society_staff, programme_admin, auditor" */
const STUDENT_AND_STAFF: readonly Role[] = [...STUDENT_ROLES, ...STAFF_AND_UP];

const reason = (f: Fixture) => ({ reason: f.text('reason') });

/**
 * Keyed by `METHOD /template` exactly as the controllers declare it. To cover a new route, add
 * its row: the roles docs/API.md gives it, whether the target is one student's, the success status,
 * and how to build a target an allowed caller succeeds on.
 */
const ROUTES: Readonly<Record<string, Row>> = {
  // Commands (docs/API.md, "Commands").
  'POST /v1/programmes': {
    roles: ['programme_admin'],
    owned: false,
    ok: 201,
    arrange: (f) => f.target(f.base.self, { ...MATRIX_RULES, programmeId: f.id('prog') }),
  },
  'POST /v1/programmes/:programmeId/applications': {
    roles: ['applicant'],
    owned: false,
    ok: 201,
    // Anyone's first application: self and "another student" are both students yet to apply.
    arrange: (f) => ({
      ...f.target(f.base.self, f.form(OWN_SOCIETY)),
      sub: f.studentSub(),
      otherSub: f.studentSub(),
    }),
  },
  'POST /v1/applications/:applicationId/recommendation': {
    roles: ['society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('submitted'), { note: f.text('note') }),
  },
  'POST /v1/applications/:applicationId/recommendation-withdrawal': {
    roles: ['society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('recommended'), reason(f)),
  },
  'POST /v1/applications/:applicationId/decline': {
    roles: ['society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('submitted'), reason(f)),
  },
  'POST /v1/applications/:applicationId/match': {
    roles: ['programme_admin'],
    owned: true,
    ok: 200,
    arrange: async (f) =>
      f.target(await f.person('recommended'), { mentoringSocietyCode: OWN_SOCIETY }),
  },
  'POST /v1/applications/:applicationId/not-selected': {
    roles: ['programme_admin'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('recommended'), reason(f)),
  },
  'POST /v1/applications/:applicationId/enrolment': {
    roles: ['programme_admin'],
    owned: true,
    ok: 201,
    arrange: async (f) => f.target(await f.person('matched'), { startDate: '2026-01-01' }),
  },
  'POST /v1/applications/:applicationId/erasure': {
    roles: ['programme_admin'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('enrolled'), reason(f)),
  },
  'POST /v1/participants/:participantId/activities': {
    roles: ['participant', 'society_staff'],
    owned: true,
    ok: 201,
    arrange: async (f) => f.target(await f.person('enrolled'), f.activity()),
  },
  'POST /v1/participants/:participantId/activities/:activityId/verification': {
    roles: ['society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('activity')),
  },
  'POST /v1/participants/:participantId/activities/:activityId/rejection': {
    roles: ['society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('activity'), reason(f)),
  },
  'POST /v1/participants/:participantId/activities/:activityId/correction': {
    roles: ['participant', 'society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('activity'), { ...reason(f), hours: 6 }),
  },
  'POST /v1/participants/:participantId/activities/:activityId/retraction': {
    roles: ['participant', 'society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('activity'), reason(f)),
  },
  'POST /v1/participants/:participantId/reviews': {
    roles: ['society_staff'],
    owned: true,
    ok: 201,
    arrange: async (f) =>
      f.target(await f.person('enrolled'), {
        period: '2026-H1',
        rating: 'satisfactory',
        note: f.text('note'),
      }),
  },
  'POST /v1/participants/:participantId/completion': {
    roles: ['society_staff'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('hoursMet')),
  },
  'POST /v1/participants/:participantId/withdrawal': {
    roles: ['society_staff', 'participant'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('enrolled'), reason(f)),
  },
  'POST /v1/participants/:participantId/association-invitation': {
    roles: ['programme_admin'],
    owned: true,
    ok: 200,
    arrange: async (f) => f.target(await f.person('completed')),
  },
  'POST /v1/audit/verifications': {
    roles: ['auditor'],
    owned: false,
    ok: 202,
    // A second start while one runs is 409; each call waits for the previous job to end.
    arrange: async (f) => {
      await f.verificationsIdle();
      return shared(f);
    },
  },
  'GET /v1/audit/verifications/:id': {
    roles: ['auditor'],
    owned: false,
    ok: 200,
    arrange: async (f) => {
      const target = shared(f);
      return { ...target, params: { ...target.params, id: await f.finishedVerification() } };
    },
  },

  // Queries (docs/API.md, "Queries"), over the shared cohort.
  'GET /v1/programmes': { roles: ANY_ROLE, owned: false, ok: 200, arrange: shared },
  'GET /v1/programmes/:programmeId': { roles: ANY_ROLE, owned: false, ok: 200, arrange: shared },
  'GET /v1/programmes/:programmeId/applications': {
    roles: STAFF_AND_UP,
    owned: false,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/programmes/:programmeId/participants': {
    roles: STAFF_AND_UP,
    owned: false,
    ok: 200,
    arrange: shared,
  },
  // Exports for staff's spreadsheets: the list's roles; the dashboard role gets no export.
  'GET /v1/programmes/:programmeId/participants.csv': {
    roles: STAFF_AND_UP,
    owned: false,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/programmes/:programmeId/participants.xlsx': {
    roles: STAFF_AND_UP,
    owned: false,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/programmes/:programmeId/dashboard': {
    roles: ['dashboard', ...STAFF_AND_UP],
    owned: false,
    ok: 200,
    arrange: shared,
  },
  // Server-sent events for a client that asks for text/event-stream; this matrix asks without
  // it and so gets the current position once, as JSON (test/e2e/changes.e2e-spec.ts streams).
  'GET /v1/programmes/:programmeId/changes': {
    roles: ['dashboard', ...STAFF_AND_UP],
    owned: false,
    ok: 200,
    arrange: shared,
  },
  // docs/API.md names "the applicant"; applicant and participant are the same student, and the code
  // lets both read their application.
  'GET /v1/applications/:applicationId': {
    roles: STUDENT_AND_STAFF,
    owned: true,
    ok: 200,
    arrange: shared,
  },
  // docs/API.md names "the participant"; the code lets the same student read it with either role.
  'GET /v1/participants/:participantId/progress': {
    roles: STUDENT_AND_STAFF,
    owned: true,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/participants/:participantId/eligibility': {
    roles: STUDENT_AND_STAFF,
    owned: true,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/participants/:participantId/timeline': {
    roles: STUDENT_AND_STAFF,
    owned: true,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/participants/:participantId/timeline.csv': {
    roles: STUDENT_AND_STAFF,
    owned: true,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/participants/:participantId/timeline.xlsx': {
    roles: STUDENT_AND_STAFF,
    owned: true,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/audit/streams/:streamName': {
    roles: ['auditor'],
    owned: false,
    ok: 200,
    arrange: shared,
  },
  'GET /v1/audit/events': { roles: ['auditor'], owned: false, ok: 200, arrange: shared },

  // Operations (docs/API.md, "Operations"): no token needed.
  'GET /health/live': { roles: 'public', owned: false, ok: 200, arrange: shared },
  'GET /health/ready': { roles: 'public', owned: false, ok: 200, arrange: shared },
  'GET /metrics': { roles: 'public', owned: false, ok: 200, arrange: shared },
  'GET /dashboard': { roles: 'public', owned: false, ok: 200, arrange: shared },
  // The pages' shell and bundle hold no data: the pages ask the API with the reader's token.
  'GET /dashboard/staff': { roles: 'public', owned: false, ok: 200, arrange: shared },
  'GET /dashboard/participants/:participantId': {
    roles: 'public',
    owned: false,
    ok: 200,
    arrange: shared,
  },
  'GET /dashboard/assets/:file': {
    roles: 'public',
    owned: false,
    ok: 200,
    arrange: (f) => {
      const target = shared(f);
      return { ...target, params: { ...target.params, file: 'dashboard.js' } };
    },
  },
};

function shared(f: Fixture): Target {
  return f.target(f.base.self);
}

/** What docs/API.md says this caller gets from this route. */
function expectedStatus(row: Row, caller: Caller): number {
  if (row.roles === 'public') return row.ok;
  if (caller.role === null) return 401;
  if (!row.roles.includes(caller.role)) return 403;
  if (row.owned && caller.relation === 'other') return 404;
  return row.ok;
}

// ---------------------------------------------------------------------------------------------
// The fixture: one real cohort in the matrix programme, and fresh ones on demand.

/** A student who applied, and how far they got. */
type Person = {
  readonly sub: string;
  readonly fullName: string;
  readonly society: string;
  readonly applicationId: string;
  participantId?: string;
  activityId?: string;
};

const STAGES = [
  'submitted',
  'recommended',
  'matched',
  'enrolled',
  'activity',
  'hoursMet',
  'completed',
] as const;
type Stage = (typeof STAGES)[number];

/** An answer the matrix saw, to look through for leaks afterwards. */
type Seen = { readonly key: string; readonly caller: string; readonly body: string };

class Fixture {
  /** Free text this test sent: reasons, notes, titles, evidence. */
  readonly texts: string[] = [];
  readonly names: string[] = [];
  readonly subs: string[] = [];
  readonly people: Person[] = [];
  /** Every answer the dashboard role got. */
  readonly dashboardSaw: Seen[] = [];
  /** Every 2xx answer other readers got: what the dashboard's not seeing is measured against. */
  readonly readersSaw: Seen[] = [];
  /** The free text sent while building the shared cohort. */
  sharedTexts: readonly string[] = [];
  private counter = 0;
  private cohort?: { readonly self: Person; readonly other: Person; readonly foreign: Person };

  /** Verification jobs started through the matrix, so the next start can wait for them. */
  readonly verifications: string[] = [];

  constructor(readonly t: TestApp) {}

  /** The shared cohort: a B33 participant, another B33 applicant, a C01 participant. */
  get base() {
    if (!this.cohort) throw new Error('the shared cohort is not built yet');
    return this.cohort;
  }

  /** A distinctive, numbered string (fixed width, so none contains another). */
  id(kind: string): string {
    this.counter += 1;
    return `mx-${kind}-${String(this.counter).padStart(4, '0')}`;
  }

  /** Free text to send, remembered so it can be looked for where it must not be. */
  text(kind: string): string {
    const text = `${kind} ${this.id('text')} zq`;
    this.texts.push(text);
    return text;
  }

  studentSub(): string {
    const sub = this.id('student');
    this.subs.push(sub);
    return sub;
  }

  form(society: string) {
    const fullName = `Name ${this.id('name')} Zq`;
    this.names.push(fullName);
    return { ...eligibleForm, fullName, preferredSocietyCode: society };
  }

  activity(hours = 8, occurredOn = '2026-03-02', endedOn?: string) {
    return {
      pillar: 'professional',
      category: 'international_conference',
      title: this.text('title'),
      occurredOn,
      ...(endedOn ? { endedOn } : {}),
      hours,
      evidence: this.text('evidence'),
    };
  }

  /** Waits until no verification job runs (they take a moment over the small cohort). */
  async verificationsIdle(): Promise<void> {
    const auditor = await this.headers('auditor', 'auditor-1');
    for (const id of this.verifications) {
      for (let i = 0; i < 200; i += 1) {
        const job = await this.t.request({
          method: 'GET',
          url: `/v1/audit/verifications/${id}`,
          headers: auditor,
        });
        if (job.json<{ status: string }>().status !== 'running') break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  /** The id of a verification job that has run to its end. */
  async finishedVerification(): Promise<string> {
    for (;;) {
      await this.verificationsIdle();
      const started = await this.t.request({
        method: 'POST',
        url: '/v1/audit/verifications',
        headers: await this.headers('auditor', 'auditor-1'),
      });
      // One the matrix itself started may still run: wait for it, then start ours.
      if (started.statusCode === 409) {
        this.verifications.push(started.json<{ runningId: string }>().runningId);
        continue;
      }
      expect(started.statusCode).toBe(202);
      const { id } = started.json<{ id: string }>();
      this.verifications.push(id);
      await this.verificationsIdle();
      return id;
    }
  }

  target(person: Person, body?: unknown): Target {
    return {
      params: {
        programmeId: PROGRAMME,
        applicationId: person.applicationId,
        participantId: person.participantId,
        activityId: person.activityId,
        streamName: person.participantId ? `participant-${person.participantId}` : undefined,
      },
      ...(body === undefined ? {} : { body }),
      sub: person.sub,
      // While the shared cohort is being built, nobody else has applied yet.
      otherSub: this.cohort?.other.sub ?? 'mx-student-none',
      society: person.society,
    };
  }

  async headers(role: Role, sub: string, society?: string): Promise<Record<string, string>> {
    return this.t.auth(role, society ? { sub, society } : { sub });
  }

  /** A command the fixture needs to succeed. */
  async command<T>(url: string, headers: Record<string, string>, body: unknown = {}): Promise<T> {
    const response = await this.t.request({
      method: 'POST',
      url,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    if (response.statusCode >= 300)
      throw new Error(`fixture: POST ${url} answered ${response.statusCode} ${response.body}`);
    return response.json<T>();
  }

  staff(society: string) {
    return this.headers('society_staff', `staff-${society}`, society);
  }

  admin() {
    return this.headers('programme_admin', 'mx-programme_admin');
  }

  /** A new student of `society`, taken through the lifecycle up to `stage` over HTTP. */
  async person(stage: Stage, society = OWN_SOCIETY): Promise<Person> {
    const reached = (s: Stage) => STAGES.indexOf(stage) >= STAGES.indexOf(s);
    const sub = this.studentSub();
    const form = this.form(society);
    const { applicationId } = await this.command<{ applicationId: string }>(
      `/v1/programmes/${PROGRAMME}/applications`,
      await this.headers('applicant', sub),
      form,
    );
    const person: Person = { sub, fullName: form.fullName, society, applicationId };
    this.people.push(person);
    const application = `/v1/applications/${applicationId}`;
    if (reached('recommended'))
      await this.command(`${application}/recommendation`, await this.staff(society), {
        note: this.text('note'),
      });
    if (reached('matched'))
      await this.command(`${application}/match`, await this.admin(), {
        mentoringSocietyCode: society,
      });
    if (!reached('enrolled')) return person;
    const { participantId } = await this.command<{ participantId: string }>(
      `${application}/enrolment`,
      await this.admin(),
      { startDate: '2026-01-01' },
    );
    person.participantId = participantId;
    const participant = `/v1/participants/${participantId}`;
    if (reached('activity')) {
      const { activityId } = await this.command<{ activityId: string }>(
        `${participant}/activities`,
        await this.headers('participant', sub),
        this.activity(),
      );
      person.activityId = activityId;
    }
    if (reached('hoursMet')) {
      // 240 hours over ten days: the most a ten-day activity may have, and all the programme asks.
      const { activityId } = await this.command<{ activityId: string }>(
        `${participant}/activities`,
        await this.staff(society),
        this.activity(240, '2026-02-01', '2026-02-10'),
      );
      await this.command(
        `${participant}/activities/${activityId}/verification`,
        await this.staff(society),
      );
    }
    if (reached('completed'))
      await this.command(`${participant}/completion`, await this.staff(society));
    return person;
  }

  /** The shared cohort every read is about. */
  async build(): Promise<void> {
    await this.command('/v1/programmes', await this.admin(), MATRIX_RULES);
    const self = await this.person('activity');
    const participant = `/v1/participants/${self.participantId!}`;
    const staff = await this.staff(OWN_SOCIETY);
    // A second activity, rejected, and a review: free text about the student from staff.
    const { activityId } = await this.command<{ activityId: string }>(
      `${participant}/activities`,
      staff,
      this.activity(4, '2026-04-01'),
    );
    await this.command(`${participant}/activities/${activityId}/rejection`, staff, {
      reason: this.text('reason'),
    });
    await this.command(`${participant}/reviews`, staff, {
      period: '2026-Q1',
      rating: 'exceptional',
      note: this.text('note'),
    });
    // Another student of the same society, declined with a reason.
    const other = await this.person('submitted');
    await this.command(`/v1/applications/${other.applicationId}/decline`, staff, {
      reason: this.text('reason'),
    });
    // A participant of another society.
    const foreign = await this.person('enrolled', OTHER_SOCIETY);
    this.cohort = { self, other, foreign };
    this.sharedTexts = [...this.texts];
  }

  /** Waits until the read models hold everything appended so far. */
  async settle(): Promise<void> {
    const head = await this.t.store.headPosition();
    const response = await this.t.request({
      method: 'GET',
      url: `/v1/programmes?minPosition=${head}`,
      headers: await this.admin(),
    });
    if (response.statusCode !== 200) throw new Error(`settle: ${response.body}`);
  }

  /** What the caller may not find in any answer it gets (2xx answers: errors echo the ids asked). */
  secretsFrom(caller: Caller, target: Target): string[] {
    const of = (people: Person[]) =>
      people.flatMap((p) => [
        p.sub,
        p.fullName,
        p.applicationId,
        ...(p.participantId ? [p.participantId] : []),
      ]);
    if (caller.role === null) return [...of(this.people), ...this.texts];
    switch (caller.role) {
      case 'applicant':
      case 'participant': {
        const sub = caller.relation === 'self' ? target.sub : target.otherSub;
        return of(this.people.filter((p) => p.sub !== sub));
      }
      case 'society_staff': {
        const society = caller.relation === 'self' ? target.society : OTHER_SOCIETY;
        return of(this.people.filter((p) => p.society !== society));
      }
      case 'programme_admin':
      case 'auditor':
      case 'dashboard':
        return [];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requests.

type CallOptions = {
  readonly params?: Readonly<Record<string, string | undefined>>;
  readonly query?: Readonly<Record<string, string>>;
  /** Instead of the target's body. */
  readonly body?: unknown;
};

function fill(template: string, params: Readonly<Record<string, string | undefined>>): string {
  return template.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined)
      throw new Error(`The row's arrange gives no value for :${name} in ${template}.`);
    return encodeURIComponent(value);
  });
}

async function call(
  f: Fixture,
  route: ServedRoute,
  target: Target,
  caller: Caller,
  options: CallOptions = {},
): Promise<LightMyRequestResponse> {
  let headers: Record<string, string> = {};
  if (caller.role === 'society_staff') {
    const society = caller.relation === 'self' ? target.society : OTHER_SOCIETY;
    headers = await f.headers('society_staff', `staff-${society}`, society);
  } else if (caller.role === 'applicant' || caller.role === 'participant') {
    headers = await f.headers(
      caller.role,
      caller.relation === 'self' ? target.sub : target.otherSub,
    );
  } else if (caller.role !== null) {
    headers = await f.headers(caller.role, `mx-${caller.role}`);
  }
  const query = new URLSearchParams(options.query ?? {}).toString();
  const url = `${fill(route.template, options.params ?? target.params)}${query ? `?${query}` : ''}`;
  if (route.method === 'GET') return f.t.request({ method: 'GET', url, headers });
  return f.t.request({
    method: route.method,
    url,
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify(options.body ?? target.body ?? {}),
  });
}

/** What a problem document must hold (docs/API.md, "Errors"), or why it does not. */
function problemShapeErrors(response: LightMyRequestResponse): string[] {
  const errors: string[] = [];
  const type = String(response.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) errors.push(`content-type ${type}`);
  let body: Record<string, unknown>;
  try {
    body = response.json<Record<string, unknown>>();
  } catch {
    return [...errors, `body is not JSON: ${response.body.slice(0, 80)}`];
  }
  for (const member of ['type', 'title', 'detail', 'code'])
    if (typeof body[member] !== 'string' || body[member] === '') errors.push(`no ${member}`);
  if (body.status !== response.statusCode) errors.push(`status member ${String(body.status)}`);
  return errors;
}

/** Stand-ins for every path parameter: ids nothing has, one per parameter. */
function missingParams(template: string): Record<string, string> {
  const names = [...template.matchAll(/:(\w+)/g)].map((match) => match[1]!);
  return Object.fromEntries(
    names.map((name, index) => [
      name,
      `00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`,
    ]),
  );
}

/** A problem document with the stand-in ids put back, to compare with the real one. */
function asIfFor(
  response: LightMyRequestResponse,
  missing: Record<string, string>,
  real: Readonly<Record<string, string | undefined>>,
): unknown {
  let body = response.body;
  for (const [name, value] of Object.entries(missing))
    body = body.split(value).join(real[name] ?? value);
  return { status: response.statusCode, body: JSON.parse(body) as unknown };
}

// ---------------------------------------------------------------------------------------------
// OpenAPI.

type Schema = { $ref?: string; properties?: Record<string, Schema>; allOf?: Schema[] };
type Operation = {
  parameters?: Array<{ name: string; in: string }>;
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type OpenApiDocument = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

/** The member names of a schema, through $ref and allOf. */
function membersOf(schema: Schema | undefined, document: OpenApiDocument): string[] {
  if (!schema) return [];
  if (schema.$ref)
    return membersOf(
      document.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')],
      document,
    );
  return [
    ...Object.keys(schema.properties ?? {}),
    ...(schema.allOf ?? []).flatMap((part) => membersOf(part, document)),
  ];
}

/**
 * The rule for "a list" (docs/API.md, "Queries": lists return `{items, nextCursor}`): a GET whose
 * documented success schema, or whose actual answer to an allowed caller, has an `items` array or
 * a `nextCursor` member. The answer counts too, since not every operation documents its schema,
 * and a route paged under other names still has a `nextCursor`.
 */
function isList(operation: Operation, document: OpenApiDocument, answer: unknown): boolean {
  const documented = Object.entries(operation.responses ?? {})
    .filter(([status]) => status.startsWith('2'))
    .flatMap(([, response]) => membersOf(response.content?.['application/json']?.schema, document));
  if (documented.includes('items') || documented.includes('nextCursor')) return true;
  if (typeof answer !== 'object' || answer === null) return false;
  return Array.isArray((answer as { items?: unknown }).items) || 'nextCursor' in answer;
}

/**
 * Convention breaks known and reported, each with the failing expectation. Listed, not skipped:
 * the test fails when one of them is fixed (remove it here) as when a new one appears.
 */
const KNOWN_BREAKS: readonly string[] = [];

/** The allowed caller a convention check asks as: the one who sees most. */
function readerFor(row: Row): Caller {
  const preference: Array<Role | null> = [
    'programme_admin',
    'auditor',
    'society_staff',
    'participant',
    'applicant',
    'dashboard',
    null,
  ];
  for (const role of preference) {
    const caller = CALLERS.find(
      (c) => c.role === role && c.relation !== 'other' && expectedStatus(row, c) === row.ok,
    );
    if (caller) return caller;
  }
  throw new Error('no caller may read this route');
}

// ---------------------------------------------------------------------------------------------

// PostgreSQL too: access is decided above the stores, but the read models' filters by society
// and the 404s for missing rows are store code.
describe.each<StoreKind>(['sqlite', 'postgres'])(
  'access matrix and API conventions (%s)',
  (kind) => {
    let t: TestApp;
    let f: Fixture;
    let routes: Map<string, ServedRoute>;

    beforeAll(async () => {
      t = await startApp(await freshEnv(kind), new FixedClock(new Date(TODAY)));
      f = new Fixture(t);
      await f.build();
      routes = new Map(servedRoutes(t.app).map((route) => [route.key, route]));
    });
    afterAll(async () => {
      await t?.close();
    });

    it('every route the app serves has a row in ROUTES, and every row is a route it serves', () => {
      const missing = [...routes.values()]
        .filter((route) => !(route.key in ROUTES))
        .map(
          (route) =>
            `${route.key} (${route.isPublic ? '@Public' : `@Roles: ${route.roles?.join(', ') ?? 'none'}`}): add a row for it to ROUTES in test/e2e/access-matrix.e2e-spec.ts`,
        );
      const stale = Object.keys(ROUTES)
        .filter((key) => !routes.has(key))
        .map((key) => `${key}: no such route any more; remove or rename its row in ROUTES`);
      expect([...missing, ...stale]).toEqual([]);
    });

    it('every command (POST) route takes an Idempotency-Key, and no read has the interceptor', () => {
      // The interceptor is applied per controller, not globally (idempotency.module.ts).
      const wrong = [...routes.values()]
        .filter((route) => route.idempotent !== (route.method === 'POST'))
        .map((route) => `${route.key}: idempotent ${route.idempotent}`);
      expect(wrong).toEqual([]);
    });

    it.each(Object.keys(ROUTES))('%s: each caller gets what docs/API.md says', async (key) => {
      const route = routes.get(key);
      if (!route) throw new Error(`${key} is not served (see the first test)`);
      const row = ROUTES[key]!;
      const changes = route.method !== 'GET';
      if (!changes) await f.settle();
      const refusedTarget = await row.arrange(f);
      const wrong: string[] = [];
      for (const caller of CALLERS) {
        const want = expectedStatus(row, caller);
        const allowed = want === row.ok;
        // An allowed command changes its target, so each gets a fresh one; refusals share one.
        const target = allowed && changes ? await row.arrange(f) : refusedTarget;
        const before = await t.store.headPosition();
        const response = await call(f, route, target, caller);
        const got = response.statusCode;
        const who = `${caller.name}`;
        if (got !== want) wrong.push(`${who}: expected ${want}, got ${got} ${response.body}`);
        if (got >= 400)
          for (const error of problemShapeErrors(response))
            wrong.push(`${who}: ${got} is not a problem document: ${error}`);

        const seen = { key, caller: who, body: response.body };
        if (caller.role === 'dashboard') f.dashboardSaw.push(seen);
        else if (got < 300) f.readersSaw.push(seen);
        if (got < 300) {
          const found = f.secretsFrom(caller, target).filter((s) => response.body.includes(s));
          const more = found.length > 3 ? ` and ${found.length - 3} more` : '';
          if (found.length > 0)
            wrong.push(`${who}: the answer holds another's ${found.slice(0, 3).join(', ')}${more}`);
        }

        if (got === 401 || got === 403 || got === 404) {
          // A refusal is decided before anything is read, and a hidden target is answered like a
          // missing one: the same document for ids that do not exist. A role refused (401, 403)
          // is refused before its body is looked at, too, so its twin sends an empty one.
          if (changes && (await t.store.headPosition()) !== before)
            wrong.push(`${who}: refused with ${got}, but appended events`);
          const missing = missingParams(route.template);
          const beforeBody = got !== 404 && changes;
          if (Object.keys(missing).length > 0 || beforeBody) {
            const twin = await call(f, route, target, caller, {
              params: missing,
              ...(beforeBody ? { body: {} } : {}),
            });
            for (const error of problemShapeErrors(twin))
              wrong.push(
                `${who}, missing id: ${twin.statusCode} is not a problem document: ${error}`,
              );
            const real = { status: got, body: response.json<unknown>() };
            if (JSON.stringify(asIfFor(twin, missing, target.params)) !== JSON.stringify(real))
              wrong.push(
                `${who}: ${got} ${response.body} differs from the answer for a missing id${beforeBody ? ' and an empty body' : ''}, ${twin.statusCode} ${twin.body}`,
              );
          }
        }
      }
      expect(wrong).toEqual([]);
    });

    describe('API conventions over the OpenAPI document', () => {
      let document: OpenApiDocument;
      beforeAll(async () => {
        await f.settle();
        const response = await t.request({ method: 'GET', url: '/docs-json' });
        expect(response.statusCode).toBe(200);
        document = response.json<OpenApiDocument>();
      });

      const queryParameters = (operation: Operation) =>
        (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);

      it('every GET under /v1 documents minPosition and accepts ?minPosition=0', async () => {
        const breaks: string[] = [];
        const documented = new Set<string>();
        for (const [path, operations] of Object.entries(document.paths)) {
          const operation = operations.get;
          if (!path.startsWith('/v1/') || !operation) continue;
          const key = `GET ${templateOfOpenApiPath(path)}`;
          documented.add(key);
          const route = routes.get(key);
          const row = ROUTES[key];
          if (!route || !row) {
            breaks.push(`${key}: documented, but not served or without a row in ROUTES`);
            continue;
          }
          if (!queryParameters(operation).includes('minPosition'))
            breaks.push(`${key}: minPosition is not documented`);
          const target = await row.arrange(f);
          const response = await call(f, route, target, readerFor(row), {
            query: { minPosition: '0' },
          });
          if (response.statusCode !== row.ok)
            breaks.push(`${key}?minPosition=0: ${response.statusCode} ${response.body}`);
        }
        // A GET route left out of the document would skip every convention here.
        for (const route of routes.values())
          if (
            route.method === 'GET' &&
            route.template.startsWith('/v1/') &&
            !documented.has(route.key)
          )
            breaks.push(`${route.key}: served but not in /docs-json`);
        expect(breaks).toEqual([]);
      });

      it('every list documents and accepts limit and cursor, and answers {items, nextCursor}', async () => {
        const breaks: string[] = [];
        let lists = 0;
        for (const [path, operations] of Object.entries(document.paths)) {
          const operation = operations.get;
          if (!operation) continue;
          const key = `GET ${templateOfOpenApiPath(path)}`;
          const route = routes.get(key);
          const row = ROUTES[key];
          if (!route || !row) continue; // reported by the test above and the matrix
          const target = await row.arrange(f);
          const reader = readerFor(row);
          const plain = await call(f, route, target, reader);
          const answer: unknown = plain.statusCode < 300 ? safeJson(plain.body) : undefined;
          if (!isList(operation, document, answer)) continue;
          lists += 1;
          const parameters = queryParameters(operation);
          for (const name of ['limit', 'cursor'])
            if (!parameters.includes(name)) breaks.push(`${key}: ${name} is not documented`);
          const page = answer as Record<string, unknown>;
          if (!Array.isArray(page.items) || !('nextCursor' in page))
            breaks.push(
              `${key}: a list answers {items, nextCursor}; this one has no items array (members: ${Object.keys(page).join(', ')})`,
            );
          // Pages of one: the cohort holds at least two of everything listed, so a next page exists.
          const first = await call(f, route, target, reader, { query: { limit: '1' } });
          const cursor = safeJson(first.body)?.nextCursor;
          if (first.statusCode !== 200 || typeof cursor !== 'string') {
            breaks.push(`${key}?limit=1: ${first.statusCode}, nextCursor ${String(cursor)}`);
            continue;
          }
          const second = await call(f, route, target, reader, { query: { limit: '1', cursor } });
          if (second.statusCode !== 200 || second.body === first.body)
            breaks.push(`${key}?limit=1&cursor=: ${second.statusCode}, the same page again`);
        }
        expect(lists).toBeGreaterThanOrEqual(6);
        expect(breaks).toEqual(KNOWN_BREAKS);
      });
    });

    // Looks through what the matrix above collected, so it runs after it (not alone with -t).
    it('the dashboard role never sees a name, free text sent by this test or a student sub', () => {
      const secrets = [...f.names, ...f.texts, ...f.subs];
      const leaks = f.dashboardSaw.flatMap((seen) =>
        secrets.filter((secret) => seen.body.includes(secret)).map((s) => `${seen.key}: ${s}`),
      );
      const aggregates = 'GET /v1/programmes/:programmeId/dashboard';
      expect(f.dashboardSaw.map((seen) => seen.key)).toContain(aggregates);
      expect(leaks).toEqual([]);
      // The shared cohort's texts are there for those who may read them, so their absence from
      // the dashboard's answers means something.
      const read = f.readersSaw.map((seen) => seen.body).join('\n');
      const shared = [f.base.self, f.base.other, f.base.foreign].flatMap((p) => [
        p.fullName,
        p.sub,
      ]);
      expect([...shared, ...f.sharedTexts].filter((s) => !read.includes(s))).toEqual([]);
    });
  },
);

function safeJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
