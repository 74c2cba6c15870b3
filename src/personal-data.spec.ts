import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eligibleForm } from '../test/support/programme-fixtures';
import { applicationDecider, type ApplicationEvent } from './applications/domain/application';
import { selectionDecider, type SelectionCommand } from './applications/domain/selection';
import {
  type DomainEvent,
  PersonalDataVault,
  isSealed,
  leafPaths,
  valuesAtPath,
} from './event-sourcing';
import { PERSONAL_DATA_POLICY } from './personal-data';
import {
  participantDecider,
  type ParticipantCommand,
  type ParticipantState,
} from './participants/domain/participant';
import { dataSubjectDecider } from './privacy/domain/data-subject';
import { DTDP_2025, programmeDecider } from './programmes/domain/programme';
import { SqliteSubjectKeyStore } from './stores/keys/sqlite-subject-key-store';

/**
 * One event of every type, each made by its decider from realistic commands, so that a field a
 * decider starts to write shows up here the day it is added.
 */
function everyEventType(): DomainEvent[] {
  const events: DomainEvent[] = [];
  events.push(
    ...programmeDecider.decide({ type: 'DefineProgramme', rules: DTDP_2025 }, { defined: false }),
  );
  const submit = (applicationId: string) => {
    const [submitted] = applicationDecider.decide(
      {
        type: 'SubmitApplication',
        applicationId,
        programme: DTDP_2025,
        applicantSub: `student-${applicationId}`,
        subjectRef: `ref${applicationId}`,
        submittedAt: '2025-11-10T09:00:00+08:00',
        form: eligibleForm,
      },
      null,
    ) as [ApplicationEvent];
    events.push(submitted);
    return submitted.data;
  };
  const [a, b, c] = [submit('a1'), submit('a2'), submit('a3')];
  let selection = selectionDecider.initialState();
  const select = (command: SelectionCommand) => {
    for (const event of selectionDecider.decide(command, selection)) {
      selection = selectionDecider.evolve(selection, event);
      events.push(event);
    }
  };
  select({ type: 'DeclineApplication', application: c, reason: 'Outside the field' });
  select({ type: 'RecommendCandidate', application: a, programme: DTDP_2025, note: 'Strong' });
  select({ type: 'RecommendCandidate', application: b, programme: DTDP_2025, note: null });
  select({ type: 'WithdrawRecommendation', application: b, reason: 'Asked to' });
  select({ type: 'RecommendCandidate', application: b, programme: DTDP_2025, note: null });
  select({ type: 'MarkNotSelected', application: b, reason: 'Places filled' });
  select({
    type: 'MatchCandidate',
    application: a,
    programme: DTDP_2025,
    mentoringSocietyCode: 'B33',
  });

  const participant = (participantId: string) => {
    let state: ParticipantState = null;
    const act = (command: ParticipantCommand) => {
      for (const event of participantDecider.decide(command, state)) {
        state = participantDecider.evolve(state, event);
        events.push(event);
      }
    };
    act({
      type: 'EnrolParticipant',
      participantId,
      application: a,
      selection: { status: 'matched', mentoringSocietyCode: 'B33' },
      programme: DTDP_2025,
      startDate: '2026-01-01',
    });
    return act;
  };
  const act = participant('p1');
  const log = (activityId: string, hours: number, endedOn = '2026-02-03') =>
    act({
      type: 'LogActivity',
      activityId,
      pillar: 'professional',
      category: 'other_professional',
      title: `Activity ${activityId}`,
      occurredOn: '2026-02-01',
      endedOn,
      hours,
      evidence: 'certificate',
      today: '2026-03-01',
    });
  log('x1', 8);
  act({ type: 'RejectActivity', activityId: 'x1', reason: 'No evidence' });
  log('x2', 8);
  act({ type: 'CorrectActivity', activityId: 'x2', reason: 'Two days', hours: 6 });
  act({ type: 'RetractActivity', activityId: 'x2', reason: 'Duplicate' });
  log('x3', 240, '2026-02-28');
  act({ type: 'VerifyActivity', activityId: 'x3' });
  act({ type: 'ReviewProgress', period: '2026-H1', rating: 'exceptional', note: 'Excellent' });
  act({ type: 'CompleteParticipation', today: '2026-07-01' });
  act({ type: 'InviteToAdvancementAssociation', today: '2026-07-01' });
  participant('p2')({ type: 'WithdrawParticipant', reason: 'Moved abroad', today: '2026-08-01' });
  events.push(
    ...dataSubjectDecider.decide(
      {
        type: 'RecordErasure',
        subjectRef: 'ref1',
        reason: 'Request',
        erasedAt: '2026-09-01T00:00:00Z',
      },
      dataSubjectDecider.initialState(),
    ),
  );
  return events;
}

describe('the personal-data policy', () => {
  const events = everyEventType();

  it('covers every event type the deciders write (and the run writes each of them)', () => {
    expect([...new Set(events.map((event) => event.type))].sort()).toEqual(
      Object.keys(PERSONAL_DATA_POLICY).sort(),
    );
  });

  it.each(events.map((event) => [event.type, event] as const))(
    '%s: every field is declared personal or plain, and not both',
    (type, event) => {
      const classes = PERSONAL_DATA_POLICY[type]!;
      const declared = [...(classes.personal ?? []), ...classes.plain];
      expect(new Set(declared).size).toBe(declared.length);
      const undeclared = [...leafPaths(event.data)].filter((path) => !declared.includes(path));
      expect(undeclared).toEqual([]);
      if (classes.personal?.length) expect(classes.subject).toBeDefined();
    },
  );

  describe('sealing', () => {
    let dir: string;
    let keys: SqliteSubjectKeyStore;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'policy-'));
      keys = new SqliteSubjectKeyStore(join(dir, 'keys.sqlite'));
    });
    afterAll(async () => {
      await keys.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('seals exactly the personal fields, opens them back, and reads erased ones as null', async () => {
      const vault = await PersonalDataVault.open(keys);
      const metadata = {
        actor: { sub: 'staff-1', role: 'society_staff' },
        correlationId: 'c',
        causationId: null,
        schemaVersion: 1,
      };
      const sealed = await vault.sealEvents(
        events.map((event) => ({ ...event, metadata })),
        PERSONAL_DATA_POLICY,
      );
      sealed.forEach((event, index) => {
        const classes = PERSONAL_DATA_POLICY[event.type]!;
        for (const path of classes.personal ?? [])
          for (const value of valuesAtPath(event.data, path)) expect(isSealed(value)).toBe(true);
        for (const path of classes.plain)
          expect(valuesAtPath(event.data, path)).toEqual(valuesAtPath(events[index]!.data, path));
      });
      expect(await vault.unseal(sealed.map((event) => event.data))).toEqual(
        events.map((event) => event.data),
      );
      await vault.erase('refa1', '2026-09-01T00:00:00Z');
      const [submitted] = await vault.unseal([sealed[1]!.data]);
      expect(submitted).toMatchObject({
        fullName: null,
        institution: null,
        erased: true,
        enrolmentType: 'full_time',
      });
      // Data about an erased person written afterwards is recorded as erased, never readable.
      const [late] = await vault.sealEvents([{ ...events[1]!, metadata }], PERSONAL_DATA_POLICY);
      expect(await vault.unseal(late!.data)).toMatchObject({ fullName: null, erased: true });
    });
  });
});
