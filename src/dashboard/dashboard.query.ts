import { societyFilter } from '../auth/access';
import { PILLARS, type Pillar, type ProgrammeRules } from '../programmes/domain/programme';
import type { ReadModels } from '../projections/read-models';
import { rollupGroup, rollupGroupsUnder } from '../projections/projection';
import type { ApplicationStatus } from '../applications/domain/application';
import { applicationsProjection } from '../applications/queries/applications.projection';
import {
  progressProjection,
  type PaceFactsKey,
  type SocietyProgress,
} from '../participants/queries/progress.projection';
import { expectedBy, PACES, paceOf, type Pace } from '../participants/domain/pace';
import { localDate } from '../shared/domain/calendar';

/** What `GET /v1/programmes/:programmeId/dashboard` answers (see `dashboardFigures`). */
export type DashboardFigures = Awaited<ReturnType<typeof dashboardFigures>>;

/**
 * The dashboard's figures for one society (or all of them when `society` is undefined) at
 * `now`: what the dashboard route answers, and what the benchmark measures.
 *
 * With `minGroup` k above 1 (docs/API.md, "Privacy"), a count of 1 to k-1 people is shown as
 * null, and the hours are shown as null when fewer than k participants contribute to them.
 * Suppression is reported per group of figures, each object carrying its own `suppressed` flag:
 * the top level holds the counts (applications through atRisk) and says whether any of them is
 * null; `verifiedHours` holds the hours, all computed over the same participants and so
 * suppressed together. `recommendationQuota` is a programme rule, not a figure about people,
 * and is never suppressed. A count of 0 and hours over nobody are shown: they describe no one.
 */
export async function dashboardFigures(
  readModels: ReadModels,
  programme: ProgrammeRules,
  society: string | undefined,
  minGroup: number,
  now: Date,
) {
  const programmeId = programme.programmeId;
  // The totals the projections keep per programme and society: one small document each for a
  // society, one per society for the whole programme. Two independent reads: on PostgreSQL they
  // run side by side on two connections.
  const groups =
    society !== undefined ? rollupGroup(programmeId, society) : rollupGroupsUnder(programmeId);
  const where = { programmeId, ...societyFilter(society) };
  const [applications, progress] = await Promise.all([
    readModels.rollups(applicationsProjection, groups, where),
    readModels.rollups(progressProjection, groups, where),
  ]);
  const sum = <T>(totals: readonly T[], of: (total: T) => number) =>
    totals.reduce((total, item) => total + of(item), 0);
  const count = (statuses: readonly ApplicationStatus[]) =>
    sum(applications, (total) => sum(statuses, (status) => total.statuses[status] ?? 0));
  const figures = paceFiguresOf(progress, now);
  const tooFew = (people: number) => people > 0 && people < minGroup;
  const shown = (people: number): number | null => (tooFew(people) ? null : people);
  // Hundredths of an hour, summed as integers: exact, whatever the order.
  const centihours = (pillar: Pillar) => sum(progress, (total) => total.verifiedCentihours[pillar]);
  const hours = Object.fromEntries(
    PILLARS.map((pillar) => [pillar, centihours(pillar) / 100]),
  ) as Record<Pillar, number>;
  const total = sum(PILLARS, centihours) / 100;
  const enrolled = sum(progress, (total) => total.participants);
  const hoursSuppressed = tooFew(enrolled);
  const people = {
    applications: sum(applications, (total) => total.applications),
    eligible: sum(applications, (total) => total.eligible),
    recommended: count(['recommended', 'matched', 'not_selected', 'enrolled']),
    matched: count(['matched', 'enrolled']),
    enrolled,
    active: figures.statuses.active,
    completed: figures.statuses.completed,
    withdrawn: figures.statuses.withdrawn,
    behind: figures.paces.behind,
    atRisk: figures.paces.at_risk,
    declined: count(['declined']),
    notSelected: count(['not_selected']),
  };
  const paces = figures.paces;
  const paceHidden = PACES.some((pace) => tooFew(paces[pace]));
  const expected = figures.expectedCentihours / 100;
  return {
    programmeId,
    society: society ?? null,
    applications: shown(people.applications),
    eligible: shown(people.eligible),
    recommended: shown(people.recommended),
    recommendationQuota:
      programme.recommendationQuota * (society !== undefined ? 1 : programme.societies.length),
    matched: shown(people.matched),
    enrolled: shown(people.enrolled),
    active: shown(people.active),
    completed: shown(people.completed),
    withdrawn: shown(people.withdrawn),
    verifiedHours: {
      political: hoursSuppressed ? null : hours.political,
      professional: hoursSuppressed ? null : hours.professional,
      social: hoursSuppressed ? null : hours.social,
      total: hoursSuppressed ? null : total,
      suppressed: hoursSuppressed,
    },
    behind: shown(people.behind),
    atRisk: shown(people.atRisk),
    declined: shown(people.declined),
    notSelected: shown(people.notSelected),
    /** Participants by pace (the funnel's last step and the pace bar), counts like the others. */
    // Hidden as a whole when any of its cells is: the cells add up to `enrolled`, so one hidden
    // cell beside the others shown could be worked out by subtraction.
    pace: Object.fromEntries(
      PACES.map((pace) => [pace, paceHidden ? null : paces[pace]]),
    ) as Record<Pace, number | null>,
    /** What a linear pace expects by today, summed over the participants; hidden with the hours. */
    expectedHoursToDate: hoursSuppressed ? null : Math.round(expected * 10) / 10,
    suppressed: [...Object.values(people), ...Object.values(paces)].some(tooFew),
  };
}

/**
 * Participants by status and by pace today, and what a linear pace expects of them by today (in
 * hundredths of an hour), from the rollups' pace facts: each distinct set of facts is read once
 * with the participants' own pace rule (`expectedBy` and `paceOf`, which `readPace` uses), and
 * counts as many times as participants share it.
 */
function paceFiguresOf(totals: readonly SocietyProgress[], now: Date) {
  const statuses = { active: 0, completed: 0, withdrawn: 0 };
  const paces = Object.fromEntries(PACES.map((pace) => [pace, 0])) as Record<Pace, number>;
  let expectedCentihours = 0;
  // Today is the same for every participant of one time zone (usually all of them).
  const todays = new Map<string, string>();
  for (const total of totals) {
    for (const [factsKey, hours] of Object.entries(total.paceFacts)) {
      const [status, timeZone, windowStart, windowEnd, requiredHours] = JSON.parse(
        factsKey,
      ) as PaceFactsKey;
      let today = todays.get(timeZone);
      if (today === undefined) {
        today = localDate(now, timeZone);
        todays.set(timeZone, today);
      }
      // The same window and requirement: the same hours expected of each of them today.
      const window = { windowStart, windowEnd, requiredHours };
      const { expected, expectedHoursToDate } = expectedBy(window, today);
      const expectedCentihoursEach = Math.round(expectedHoursToDate * 100);
      for (const [verified, people] of Object.entries(hours)) {
        const pace = paceOf(
          { status, ...window, verifiedHours: Number(verified) / 100 },
          expected,
          today,
        );
        statuses[status] += people;
        paces[pace] += people;
        expectedCentihours += expectedCentihoursEach * people;
      }
    }
  }
  return { statuses, paces, expectedCentihours };
}
