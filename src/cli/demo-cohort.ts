import { createHash } from 'node:crypto';
import type { CommandBus } from '@nestjs/cqrs';
import { principalOf, type Role } from '../shared/principal';
import { commandContext, type CommandContext } from '../shared/command-context';
import {
  DecideSelectionCommand,
  SubmitApplicationCommand,
  type SelectionDecision,
} from '../applications/commands/application.handlers';
import type { ApplicationForm } from '../applications/domain/application';
import {
  ParticipantCommandMessage,
  type ParticipantRequest,
} from '../participants/commands/participant.handler';
import { EnrolParticipantCommand } from '../participants/commands/enrol-participant';
import { DTDP_2025 } from '../programmes/domain/programme';

type Student = {
  readonly sub: string;
  readonly form: Partial<ApplicationForm> &
    Pick<ApplicationForm, 'fullName' | 'institution' | 'researchField'>;
};

// A small, realistic first cohort for the China Rare Earth Society (B33): eight applications,
// two of them ineligible, one declined, three recommended (the quota), two enrolled.
const STUDENTS: readonly Student[] = [
  {
    sub: 'demo-li-wei',
    form: {
      fullName: 'Li Wei',
      institution: 'Institute of Process Engineering, CAS',
      researchField: 'separation chemistry',
    },
  },
  {
    sub: 'demo-zhang-min',
    form: {
      fullName: 'Zhang Min',
      institution: 'Baotou Research Institute of Rare Earths',
      researchField: 'magnet materials',
    },
  },
  {
    sub: 'demo-chen-jie',
    form: {
      fullName: 'Chen Jie',
      institution: 'Jiangxi University of Science and Technology',
      researchField: 'clean refining',
    },
  },
  {
    sub: 'demo-wang-fang',
    form: {
      fullName: 'Wang Fang',
      institution: 'Northeastern University',
      researchField: 'rare-earth catalysis',
    },
  },
  {
    sub: 'demo-liu-yang',
    form: {
      fullName: 'Liu Yang',
      institution: 'Peking University',
      researchField: 'luminescent materials',
      enrolmentType: 'part_time',
    },
  },
  {
    sub: 'demo-zhao-lei',
    form: {
      fullName: 'Zhao Lei',
      institution: 'Tsinghua University',
      researchField: 'hydrogen storage alloys',
      expectedGraduationDate: '2027-06-30',
    },
  },
  {
    sub: 'demo-sun-hui',
    form: {
      fullName: 'Sun Hui',
      institution: 'Central South University',
      researchField: 'ion-adsorption clays',
    },
  },
  {
    sub: 'demo-zhou-qing',
    form: {
      fullName: 'Zhou Qing',
      institution: 'Shanghai University',
      researchField: 'permanent magnet recycling',
    },
  },
];

const BASE: ApplicationForm = {
  fullName: '',
  nationality: 'CN',
  enrolmentType: 'full_time',
  degreeLevel: 'doctoral',
  institution: '',
  expectedGraduationDate: '2028-07-01',
  researchField: '',
  preferredSocietyCode: 'B33',
};

/**
 * Adds the demo cohort by running the real commands (so every rule applies) at the times they
 * would have happened. Does nothing when the society has decided on applications already.
 * Returns the number of commands run.
 */
export async function seedDemoCohort(
  commands: CommandBus,
  alreadySeeded: () => Promise<boolean>,
  /** Students' pseudonyms, as the auth guard computes them for a request. */
  pseudonym: (sub: string) => string,
): Promise<number> {
  if (await alreadySeeded()) return 0;
  let count = 0;
  const principal = (role: Role, sub: string, society: string | null) => {
    const base = principalOf(role, sub, society);
    return role === 'applicant' || role === 'participant'
      ? { ...base, subjectRef: pseudonym(sub) }
      : base;
  };
  const as = (role: Role, sub: string, at: string, society: string | null = null): CommandContext =>
    commandContext(
      principal(role, sub, society),
      `demo-${createHash('sha1').update(`${sub}${at}`).digest('hex').slice(0, 12)}`,
      new Date(at),
    );
  const staff = (at: string) => as('society_staff', 'demo-staff-b33', at, 'B33');
  const admin = (at: string) => as('programme_admin', 'demo-admin', at);
  const run = async <T>(command: Parameters<CommandBus['execute']>[0]): Promise<T> => {
    count += 1;
    return await commands.execute(command);
  };

  const ids: string[] = [];
  for (const [index, student] of STUDENTS.entries()) {
    const at = `2025-11-${String(3 + index).padStart(2, '0')}T10:30:00+08:00`;
    const { applicationId } = await run<{ applicationId: string }>(
      new SubmitApplicationCommand(
        DTDP_2025.programmeId,
        { ...BASE, ...student.form },
        as('applicant', student.sub, at),
      ),
    );
    ids.push(applicationId);
  }
  const decide = (index: number, decision: SelectionDecision, context: CommandContext) =>
    run(new DecideSelectionCommand(ids[index]!, decision, context));
  await decide(
    6,
    {
      type: 'DeclineApplication',
      reason: 'Research plan does not yet name a supervisor at a partner institute.',
    },
    staff('2025-11-19T09:00:00+08:00'),
  );
  for (const index of [0, 1, 2])
    await decide(
      index,
      { type: 'RecommendCandidate', note: 'Strong record; recommended by the review panel.' },
      staff('2025-11-20T09:00:00+08:00'),
    );
  await decide(
    0,
    { type: 'MatchCandidate', mentoringSocietyCode: 'B33' },
    admin('2025-12-10T15:00:00+08:00'),
  );
  await decide(
    1,
    { type: 'MatchCandidate', mentoringSocietyCode: 'B33' },
    admin('2025-12-10T15:05:00+08:00'),
  );
  await decide(
    2,
    { type: 'MarkNotSelected', reason: 'National places for this field were filled.' },
    admin('2025-12-10T15:10:00+08:00'),
  );

  const participants: string[] = [];
  for (const index of [0, 1]) {
    const { participantId } = await run<{ participantId: string }>(
      new EnrolParticipantCommand(ids[index]!, '2026-01-01', admin('2025-12-20T10:00:00+08:00')),
    );
    participants.push(participantId);
  }

  const [liWei, zhangMin] = participants as [string, string];
  const onParticipant = (
    participantId: string,
    request: ParticipantRequest,
    context: CommandContext,
  ) =>
    run<{ position: number }>(
      new ParticipantCommandMessage(participantId, request, context, undefined),
    );
  const log = async (
    participantId: string,
    sub: string,
    id: string,
    activity: Omit<Extract<ParticipantRequest, { type: 'LogActivity' }>, 'type' | 'activityId'>,
    at: string,
  ) => {
    const activityId = `0199${createHash('sha1').update(id).digest('hex').slice(0, 4)}-0000-7000-8000-${createHash('sha1').update(id).digest('hex').slice(0, 12)}`;
    await onParticipant(
      participantId,
      { type: 'LogActivity', activityId, ...activity },
      as('participant', sub, at),
    );
    return activityId;
  };
  const verify = (participantId: string, activityId: string, at: string) =>
    onParticipant(participantId, { type: 'VerifyActivity', activityId }, staff(at));

  // Li Wei: ahead of pace, one correction, an exceptional review.
  const seminar = await log(
    liWei,
    'demo-li-wei',
    'lw-1',
    {
      pillar: 'political',
      category: 'national_development_seminar',
      title: 'National development strategy seminar',
      occurredOn: '2026-01-15',
      endedOn: '2026-01-17',
      hours: 18,
      evidence: null,
    },
    '2026-01-18T09:00:00+08:00',
  );
  await verify(liWei, seminar, '2026-01-20T09:00:00+08:00');
  const conference = await log(
    liWei,
    'demo-li-wei',
    'lw-2',
    {
      pillar: 'professional',
      category: 'international_conference',
      title: 'International Conference on Rare Earth Development and Application, Baotou',
      occurredOn: '2026-04-20',
      endedOn: '2026-04-23',
      hours: 32,
      evidence: 'certificate REDA-2026-0417',
    },
    '2026-04-25T09:00:00+08:00',
  );
  await verify(liWei, conference, '2026-04-28T09:00:00+08:00');
  const journal = await log(
    liWei,
    'demo-li-wei',
    'lw-3',
    {
      pillar: 'social',
      category: 'journal_assistant',
      title: 'Assistant editor, Journal of Rare Earths',
      occurredOn: '2026-05-01',
      endedOn: '2026-06-30',
      hours: 40,
      evidence: null,
    },
    '2026-07-01T09:00:00+08:00',
  );
  await verify(liWei, journal, '2026-07-03T09:00:00+08:00');
  await onParticipant(
    liWei,
    {
      type: 'CorrectActivity',
      activityId: journal,
      reason: 'Editorial log shows 52 hours.',
      hours: 52,
    },
    as('participant', 'demo-li-wei', '2026-07-05T09:00:00+08:00'),
  );
  await verify(liWei, journal, '2026-07-06T09:00:00+08:00');
  const paper = await log(
    liWei,
    'demo-li-wei',
    'lw-4',
    {
      pillar: 'professional',
      category: 'paper_publication',
      title: 'Paper on solvent extraction of Nd/Pr',
      occurredOn: '2026-09-10',
      endedOn: null,
      hours: 20,
      evidence: 'doi:10.0000/demo',
    },
    '2026-09-12T09:00:00+08:00',
  );
  await verify(liWei, paper, '2026-09-15T09:00:00+08:00');
  await onParticipant(
    liWei,
    {
      type: 'ReviewProgress',
      period: '2026-H1',
      rating: 'exceptional',
      note: 'Well ahead of plan.',
    },
    staff('2026-07-10T09:00:00+08:00'),
  );

  // Zhang Min: behind, a rejected and a retracted activity, one still pending.
  const ethics = await log(
    zhangMin,
    'demo-zhang-min',
    'zm-1',
    {
      pillar: 'political',
      category: 'scientific_ethics_seminar',
      title: 'Research ethics workshop',
      occurredOn: '2026-03-05',
      endedOn: null,
      hours: 6,
      evidence: null,
    },
    '2026-03-06T09:00:00+08:00',
  );
  await verify(zhangMin, ethics, '2026-03-09T09:00:00+08:00');
  const visit = await log(
    zhangMin,
    'demo-zhang-min',
    'zm-2',
    {
      pillar: 'professional',
      category: 'overseas_academic_visit',
      title: 'Visit to a magnet laboratory',
      occurredOn: '2026-05-10',
      endedOn: '2026-05-14',
      hours: 30,
      evidence: null,
    },
    '2026-05-16T09:00:00+08:00',
  );
  await onParticipant(
    zhangMin,
    {
      type: 'RejectActivity',
      activityId: visit,
      reason: 'No invitation letter or travel record attached.',
    },
    staff('2026-05-20T09:00:00+08:00'),
  );
  const duplicate = await log(
    zhangMin,
    'demo-zhang-min',
    'zm-3',
    {
      pillar: 'political',
      category: 'scientific_ethics_seminar',
      title: 'Research ethics workshop',
      occurredOn: '2026-03-05',
      endedOn: null,
      hours: 6,
      evidence: null,
    },
    '2026-03-07T09:00:00+08:00',
  );
  await onParticipant(
    zhangMin,
    { type: 'RetractActivity', activityId: duplicate, reason: 'Logged twice.' },
    as('participant', 'demo-zhang-min', '2026-03-08T09:00:00+08:00'),
  );
  await log(
    zhangMin,
    'demo-zhang-min',
    'zm-4',
    {
      pillar: 'social',
      category: 'corporate_rnd',
      title: 'R&D placement, magnet producer',
      occurredOn: '2026-08-01',
      endedOn: '2026-08-20',
      hours: 60,
      evidence: null,
    },
    '2026-08-22T09:00:00+08:00',
  );
  await onParticipant(
    zhangMin,
    {
      type: 'ReviewProgress',
      period: '2026-H1',
      rating: 'needs_improvement',
      note: 'Hours behind plan; agreed a catch-up schedule.',
    },
    staff('2026-07-10T09:30:00+08:00'),
  );
  return count;
}
