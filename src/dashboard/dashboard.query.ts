import { societyFilter } from '../auth/access';
import { PILLARS, type ProgrammeRules } from '../programmes/domain/programme';
import type { ReadModels } from '../projections/read-models';
import { applicationsProjection } from '../applications/queries/applications.projection';
import { progressViews } from '../participants/queries/progress.projection';
import { PACES, type Pace } from '../participants/domain/pace';

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
  // Two independent queries: on PostgreSQL they run side by side on two connections.
  const [applications, progress] = await Promise.all([
    readModels.indexes(applicationsProjection, { programmeId, ...societyFilter(society) }),
    progressViews(readModels, programmeId, society, now),
  ]);
  const tooFew = (people: number) => people > 0 && people < minGroup;
  const shown = (people: number): number | null => (tooFew(people) ? null : people);
  const count = (statuses: readonly string[]) =>
    applications.filter((doc) => statuses.includes(doc.status)).length;
  const hours = Object.fromEntries(PILLARS.map((pillar) => [pillar, 0])) as Record<
    (typeof PILLARS)[number],
    number
  >;
  for (const { view } of progress)
    for (const pillar of PILLARS) hours[pillar] += view.verifiedHours[pillar];
  const total = Object.values(hours).reduce((sum, value) => sum + value, 0);
  const hoursSuppressed = tooFew(progress.length);
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
  const paceHidden = PACES.some((pace) => tooFew(paces[pace]));
  const expected = progress.reduce((sum, { view }) => sum + view.expectedHoursToDate, 0);
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
