import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { participantIdFor } from '../../src/participants/commands/enrol-participant';
import {
  applicationDecider,
  applicationStream,
  type ApplicationSubmittedData,
} from '../../src/applications/domain/application';
import {
  selectionDecider,
  selectionStream,
  type SelectionCommand,
  type SelectionEvent,
} from '../../src/applications/domain/selection';
import type { DomainEvent, EventMetadata } from '../../src/event-sourcing';
import {
  participantDecider,
  participantStream,
  type ParticipantCommand,
  type ParticipantState,
} from '../../src/participants/domain/participant';
import {
  DTDP_2025,
  programmeDecider,
  programmeStream,
} from '../../src/programmes/domain/programme';
import { PROJECTIONS } from '../../src/read-models';
import { rollupGroup, rollupGroupsUnder, type Projection } from '../../src/projections/projection';
import { ReadModels } from '../../src/projections/read-models';
import { dashboardFigures } from '../../src/dashboard/dashboard.query';
import { applicationsProjection } from '../../src/applications/queries/applications.projection';
import {
  progressProjection,
  progressViews,
} from '../../src/participants/queries/progress.projection';
import { PACES, type Pace } from '../../src/participants/domain/pace';
import { rebuildProjection } from '../../src/projections/projection-rebuild';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { SqliteReadModelStore } from '../../src/stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { DomainError } from '../../src/shared/domain/domain-error';
import { eligibleForm } from '../support/programme-fixtures';

// Random histories are produced by the real deciders from random commands (refused ones are
// dropped), so every generated sequence is one the system could have recorded.
type Step =
  | { kind: 'apply'; student: number; eligible: boolean }
  | {
      kind: 'select';
      student: number;
      decision: 'recommend' | 'decline' | 'withdraw' | 'match' | 'notSelect';
    }
  | { kind: 'enrol'; student: number }
  | {
      kind: 'participant';
      student: number;
      command:
        'log' | 'verify' | 'reject' | 'correct' | 'retract' | 'review' | 'complete' | 'withdraw';
      activity: number;
      hours: number;
      day: number;
    };

// Weighted so that histories reach enrolment and beyond, not just applications.
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('apply' as const),
      student: fc.nat(2),
      eligible: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('select' as const),
      student: fc.nat(2),
      decision: fc.constantFrom(
        'recommend',
        'recommend',
        'recommend',
        'match',
        'match',
        'match',
        'withdraw',
        'notSelect',
        'decline',
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('enrol' as const), student: fc.nat(2) }) },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('participant' as const),
      student: fc.nat(2),
      command: fc.oneof(
        {
          weight: 30,
          arbitrary: fc.constantFrom(
            'log',
            'log',
            'verify',
            'verify',
            'reject',
            'correct',
            'retract',
            'review',
            'complete',
          ),
        },
        { weight: 1, arbitrary: fc.constant('withdraw' as const) },
      ),
      activity: fc.nat(6),
      hours: fc.integer({ min: 1, max: 24 }),
      day: fc.integer({ min: 0, max: 27 }),
    }),
  },
);

// Most students are taken through to enrolment first, so the random steps that follow have
// participants to act on; the others stop at a random stage of selection.
const admissions: fc.Arbitrary<Step[]> = fc
  .array(
    fc.record({
      eligible: fc.constantFrom(true, true, true, true, false),
      stage: fc.constantFrom(
        'enrolled',
        'enrolled',
        'enrolled',
        'recommended',
        'declined',
        'notSelected',
      ),
    }),
    {
      minLength: 1,
      maxLength: 3,
    },
  )
  .map((students) =>
    students.flatMap(({ eligible, stage }, student): Step[] => {
      const apply: Step = { kind: 'apply', student, eligible };
      const select = (decision: Extract<Step, { kind: 'select' }>['decision']): Step => ({
        kind: 'select',
        student,
        decision,
      });
      switch (stage) {
        case 'declined':
          return [apply, select('decline')];
        case 'recommended':
          return [apply, select('recommend')];
        case 'notSelected':
          return [apply, select('recommend'), select('notSelect')];
        default:
          return [apply, select('recommend'), select('match'), { kind: 'enrol', student }];
      }
    }),
  );

const metadata: EventMetadata = {
  actor: { sub: 'property', role: 'programme_admin' },
  correlationId: 'p',
  causationId: null,
  schemaVersion: 1,
};
type Appended = { stream: string; event: DomainEvent };

function history(steps: readonly Step[]): Appended[] {
  const out: Appended[] = [
    {
      stream: programmeStream(DTDP_2025.programmeId),
      event: programmeDecider.decide(
        { type: 'DefineProgramme', rules: DTDP_2025 },
        { defined: false },
      )[0]!,
    },
  ];
  const applications = new Map<number, ApplicationSubmittedData>();
  let selection = selectionDecider.initialState();
  const selectionEvents: SelectionEvent[] = [];
  const participants = new Map<number, ParticipantState>();
  const attempt = <E extends DomainEvent>(run: () => readonly E[]): readonly E[] => {
    try {
      return run();
    } catch (error) {
      if (error instanceof DomainError) return [];
      throw error;
    }
  };
  for (const s of steps) {
    const id = `0199aaaa-0000-7000-8000-00000000000${s.student}`;
    if (s.kind === 'apply') {
      const events = attempt(() =>
        applicationDecider.decide(
          {
            type: 'SubmitApplication',
            applicationId: id,
            programme: DTDP_2025,
            applicantSub: `s-${s.student}`,
            subjectRef: `ref-s-${s.student}`,
            submittedAt: '2025-11-10T10:00:00+08:00',
            form: { ...eligibleForm, nationality: s.eligible ? 'CN' : 'US' },
          },
          applications.get(s.student) ?? null,
        ),
      );
      for (const event of events) {
        applications.set(s.student, event.data);
        out.push({ stream: applicationStream(id), event });
      }
    }
    const application = applications.get(s.student);
    if (!application) continue;
    if (s.kind === 'select') {
      const commands: Record<typeof s.decision, SelectionCommand> = {
        recommend: { type: 'RecommendCandidate', application, programme: DTDP_2025, note: null },
        decline: { type: 'DeclineApplication', application, reason: 'r' },
        withdraw: { type: 'WithdrawRecommendation', application, reason: 'r' },
        match: {
          type: 'MatchCandidate',
          application,
          programme: DTDP_2025,
          mentoringSocietyCode: 'B33',
        },
        notSelect: { type: 'MarkNotSelected', application, reason: 'r' },
      };
      for (const event of attempt(() => selectionDecider.decide(commands[s.decision], selection))) {
        selection = selectionDecider.evolve(selection, event);
        selectionEvents.push(event);
        out.push({ stream: selectionStream(DTDP_2025.programmeId, 'B33'), event });
      }
    }
    const participantId = participantIdFor(application.applicationId);
    const state = participants.get(s.student) ?? null;
    let command: ParticipantCommand | undefined;
    if (s.kind === 'enrol') {
      const matched = selectionEvents.find(
        (event) => event.type === 'CandidateMatched' && event.data.applicationId === id,
      );
      command = {
        type: 'EnrolParticipant',
        participantId,
        application,
        programme: DTDP_2025,
        startDate: '2026-01-01',
        selection: {
          status: selection.get(id),
          mentoringSocietyCode:
            matched?.type === 'CandidateMatched' ? matched.data.mentoringSocietyCode : null,
        },
      };
    } else if (s.kind === 'participant') {
      const activityId = `0199bbbb-0000-7000-8000-00000000000${s.activity}`;
      const day = `2026-02-${String(s.day + 1).padStart(2, '0')}`;
      command = {
        log: {
          type: 'LogActivity',
          activityId,
          pillar: 'social',
          category: 'other_social',
          title: 't',
          occurredOn: day,
          endedOn: null,
          hours: s.hours,
          evidence: null,
          today: '2026-06-01',
        },
        verify: { type: 'VerifyActivity', activityId },
        reject: { type: 'RejectActivity', activityId, reason: 'r' },
        correct: { type: 'CorrectActivity', activityId, reason: 'r', hours: s.hours },
        retract: { type: 'RetractActivity', activityId, reason: 'r' },
        review: {
          type: 'ReviewProgress',
          period: `2026-Q${(s.day % 4) + 1}`,
          rating: s.hours > 12 ? 'exceptional' : 'satisfactory',
          note: null,
        },
        complete: { type: 'CompleteParticipation', today: '2026-06-01' },
        withdraw: { type: 'WithdrawParticipant', reason: 'r', today: '2026-06-01' },
      }[s.command] as ParticipantCommand;
    }
    if (command) {
      const events = attempt(() => participantDecider.decide(command, state));
      let next = state;
      for (const event of events) {
        next = participantDecider.evolve(next, event);
        out.push({ stream: participantStream(participantId), event });
      }
      participants.set(s.student, next);
    }
  }
  return out;
}

async function snapshot(readModels: SqliteReadModelStore): Promise<Record<string, unknown[]>> {
  const result: Record<string, unknown[]> = {};
  for (const projection of PROJECTIONS)
    result[projection.name] = await readModels.all(projection.name, {});
  return result;
}

describe('read models: incremental = rebuild = restart at a random point', () => {
  it('holds for random valid histories', async () => {
    await fc.assert(
      fc.asyncProperty(
        admissions,
        fc.array(step, { minLength: 60, maxLength: 200 }),
        fc.nat(100),
        fc.integer({ min: 1, max: 9 }),
        async (prefix, random, cut, batchSize) => {
          const steps = [...prefix, ...random];
          const dir = mkdtempSync(join(tmpdir(), 'prop-'));
          const events = new SqliteEventStore({
            fileName: join(dir, 'events.sqlite'),
            pollIntervalMs: 10,
          });
          const incremental = new SqliteReadModelStore(join(dir, 'incremental.sqlite'));
          const restarted = new SqliteReadModelStore(join(dir, 'restarted.sqlite'));
          try {
            const appended = history(steps);
            const stopAt = Math.max(1, Math.round((cut / 100) * appended.length));
            const live = new ProjectionRunner(events, incremental, PROJECTIONS, { batchSize });
            await live.start();
            // The restarted read models see the first part, stop, and resume from their checkpoint.
            const first = new ProjectionRunner(events, restarted, PROJECTIONS, { batchSize });
            await first.start();
            let position = 0;
            for (const [index, { stream, event }] of appended.entries()) {
              ({ position } = await events.append(stream, [{ ...event, metadata }]));
              if (index + 1 === stopAt) {
                await first.waitFor(position, 5000);
                await first.stop();
              }
            }
            const second = new ProjectionRunner(events, restarted, PROJECTIONS, { batchSize });
            await second.start();
            expect(await live.waitFor(position, 10_000)).toBe(true);
            expect(await second.waitFor(position, 10_000)).toBe(true);
            await live.stop();
            await second.stop();
            const expected = await snapshot(incremental);
            expect(await snapshot(restarted)).toEqual(expected);
            for (const projection of PROJECTIONS)
              // Windows of a few batches: documents carried across batches before a commit.
              await rebuildProjection(events, incremental, projection, {
                batchSize: batchSize * 3,
                flushEvents: batchSize * 7,
                flushDocuments: batchSize * 2,
              });
            expect(await snapshot(incremental)).toEqual(expected);
            expect(await incremental.deadLetters()).toEqual([]);
          } finally {
            await events.close();
            await incremental.close();
            await restarted.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});

/**
 * The dashboard as it was computed before the rollups, from every participant's own progress
 * (`progressViews`) and every application's index: the reference the rollups must agree with.
 * Hours are summed in hundredths, as integers, as the rollups do (a float sum of the figures
 * differs from the exact one by rounding noise only).
 */
async function dashboardFromEveryone(
  readModels: ReadModels,
  society: string | undefined,
  minGroup: number,
  now: Date,
) {
  const programmeId = DTDP_2025.programmeId;
  const where = { programmeId, ...(society !== undefined ? { societyCode: society } : {}) };
  const applications = await readModels.indexes(applicationsProjection, where);
  const progress = await progressViews(readModels, programmeId, society, now);
  const tooFew = (people: number) => people > 0 && people < minGroup;
  const shown = (people: number) => (tooFew(people) ? null : people);
  const count = (statuses: readonly string[]) =>
    applications.filter((doc) => statuses.includes(doc.status)).length;
  const centi = (hours: number) => Math.round(hours * 100);
  const hours = (pillar: 'political' | 'professional' | 'social' | 'total') =>
    progress.reduce((sum, { view }) => sum + centi(view.verifiedHours[pillar]), 0) / 100;
  const people = {
    applications: applications.length,
    eligible: applications.filter((doc) => doc.eligible === 1).length,
    recommended: count(['recommended', 'matched', 'not_selected', 'enrolled']),
    matched: count(['matched', 'enrolled']),
    enrolled: progress.length,
    active: progress.filter(({ view }) => view.status === 'active').length,
    completed: progress.filter(({ view }) => view.status === 'completed').length,
    withdrawn: progress.filter(({ view }) => view.status === 'withdrawn').length,
    behind: progress.filter(({ view }) => view.pace === 'behind').length,
    atRisk: progress.filter(({ view }) => view.pace === 'at_risk').length,
    declined: count(['declined']),
    notSelected: count(['not_selected']),
  };
  const paces = Object.fromEntries(
    PACES.map((pace) => [pace, progress.filter(({ view }) => view.pace === pace).length]),
  ) as Record<Pace, number>;
  const hidden = tooFew(progress.length);
  const expected =
    progress.reduce((sum, { view }) => sum + centi(view.expectedHoursToDate), 0) / 100;
  return {
    programmeId,
    society: society ?? null,
    applications: shown(people.applications),
    eligible: shown(people.eligible),
    recommended: shown(people.recommended),
    recommendationQuota:
      DTDP_2025.recommendationQuota * (society !== undefined ? 1 : DTDP_2025.societies.length),
    matched: shown(people.matched),
    enrolled: shown(people.enrolled),
    active: shown(people.active),
    completed: shown(people.completed),
    withdrawn: shown(people.withdrawn),
    verifiedHours: {
      political: hidden ? null : hours('political'),
      professional: hidden ? null : hours('professional'),
      social: hidden ? null : hours('social'),
      total: hidden ? null : hours('total'),
      suppressed: hidden,
    },
    behind: shown(people.behind),
    atRisk: shown(people.atRisk),
    declined: shown(people.declined),
    notSelected: shown(people.notSelected),
    pace: Object.fromEntries(
      PACES.map((pace) => [pace, PACES.some((p) => tooFew(paces[p])) ? null : paces[pace]]),
    ),
    expectedHoursToDate: hidden ? null : Math.round(expected * 10) / 10,
    suppressed: [...Object.values(people), ...Object.values(paces)].some(tooFew),
  };
}

describe('rollups: the totals of the documents, and the dashboard read from them', () => {
  it('hold for random valid histories, applied a few events at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        admissions,
        fc.array(step, { minLength: 30, maxLength: 150 }),
        fc.integer({ min: 1, max: 5 }),
        // From before the first window to after the last one ends, and a minimum group size.
        fc.date({ min: new Date('2025-06-01T00:00:00Z'), max: new Date('2028-06-01T00:00:00Z') }),
        fc.integer({ min: 1, max: 3 }),
        async (prefix, random, batchSize, now, minGroup) => {
          const dir = mkdtempSync(join(tmpdir(), 'prop-rollup-'));
          const events = new SqliteEventStore({
            fileName: join(dir, 'events.sqlite'),
            pollIntervalMs: 10,
          });
          const store = new SqliteReadModelStore(join(dir, 'read-models.sqlite'));
          try {
            const runner = new ProjectionRunner(events, store, PROJECTIONS, { batchSize });
            await runner.start();
            let position = 0;
            for (const { stream, event } of history([...prefix, ...random]))
              ({ position } = await events.append(stream, [{ ...event, metadata }]));
            expect(await runner.waitFor(position, 10_000)).toBe(true);
            await runner.stop();
            const readModels = new ReadModels(store);
            const programmeId = DTDP_2025.programmeId;
            // Totals kept as documents changed = totals summed afresh from the documents.
            for (const projection of [applicationsProjection, progressProjection] as ReadonlyArray<
              Projection<unknown>
            >) {
              const rollup = projection.rollup!;
              const fresh = new Map<string, unknown>();
              for (const index of await store.indexes(projection.name, { programmeId })) {
                const group = rollup.groupOf(index)!;
                fresh.set(group, rollup.add(fresh.get(group) ?? null, index, 1));
              }
              const ordered = [...fresh.keys()].sort().map((group) => fresh.get(group));
              const under = rollupGroupsUnder(programmeId);
              expect(await readModels.rollups(projection, under, { programmeId })).toEqual(ordered);
              // Code of another version than the served generation's sums the indexes instead.
              const upgraded = { ...projection, version: projection.version + 1 };
              expect(await readModels.rollups(upgraded, under, { programmeId })).toEqual(ordered);
              const b33 = rollupGroup(programmeId, 'B33');
              const where = { programmeId, societyCode: 'B33' };
              expect(await readModels.rollups(upgraded, b33, where)).toEqual(
                await readModels.rollups(projection, b33, where),
              );
            }
            for (const society of [undefined, 'B33', 'A01'])
              expect(await dashboardFigures(readModels, DTDP_2025, society, minGroup, now)).toEqual(
                await dashboardFromEveryone(readModels, society, minGroup, now),
              );
          } finally {
            await events.close();
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
