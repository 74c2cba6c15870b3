// The programme overview: funnel, hours against the pace expected, pace distribution and, for
// those who see every society, the societies side by side. Figures exactly as the dashboard API
// answers them for this token: null (too few people for the dashboard role) shows as "–".
import { api, withQuery } from './api';
import { COLOURS, destroyCharts, draw } from './charts';
import { chartCard, figure, h, table } from './dom';
import type { ViewContext } from './view';

type Figures = {
  society: string | null;
  applications: number | null;
  eligible: number | null;
  recommended: number | null;
  recommendationQuota: number;
  matched: number | null;
  enrolled: number | null;
  active: number | null;
  completed: number | null;
  withdrawn: number | null;
  declined: number | null;
  notSelected: number | null;
  verifiedHours: {
    political: number | null;
    professional: number | null;
    social: number | null;
    total: number | null;
    suppressed: boolean;
  };
  expectedHoursToDate: number | null;
  behind: number | null;
  atRisk: number | null;
  pace: Record<Pace, number | null>;
  suppressed: boolean;
};

type Pace = 'ahead' | 'on_track' | 'behind' | 'at_risk' | 'completed' | 'withdrawn';
const PACES: ReadonlyArray<[Pace, string]> = [
  ['ahead', 'Ahead'],
  ['on_track', 'On track'],
  ['behind', 'Behind'],
  ['at_risk', 'At risk'],
  ['completed', 'Completed'],
  ['withdrawn', 'Withdrawn'],
];
const PILLARS = [
  ['political', 'Political'],
  ['professional', 'Professional'],
  ['social', 'Social'],
] as const;

const figuresOf = async (context: ViewContext, society: string | undefined, minPosition: number) =>
  (
    await api<Figures>(
      withQuery(`/v1/programmes/${encodeURIComponent(context.programme.programmeId)}/dashboard`, {
        society,
        minPosition,
      }),
    )
  ).body;

export async function overview(context: ViewContext, minPosition: number): Promise<void> {
  const { claims, programme } = context;
  const seesAll = claims.role === 'programme_admin' || claims.role === 'auditor';
  const [data, societies] = await Promise.all([
    figuresOf(context, context.society, minPosition),
    seesAll && context.society === undefined
      ? Promise.all(programme.societies.map((s) => figuresOf(context, s.code, minPosition)))
      : Promise.resolve(undefined),
  ]);
  const scope = data.society
    ? `Society ${data.society}${nameOf(context, data.society)}`
    : 'All societies';

  const heading = h(
    'div',
    { class: 'page-head' },
    h('h1', {}, `${programme.name}`),
    h('p', { class: 'scope' }, scope),
    seesAll ? societyPicker(context) : null,
  );
  const notice =
    data.suppressed || data.verifiedHours.suppressed
      ? h(
          'p',
          { class: 'notice', id: 'suppressed-note' },
          '– marks a figure about too few people to show on this screen (it could identify them).',
        )
      : null;

  const cards = h(
    'section',
    { class: 'kpis', 'aria-label': 'Key figures' },
    kpi('Applications', data.applications, 'kpi-applications'),
    kpi('Enrolled', data.enrolled, 'kpi-enrolled'),
    kpi('Active', data.active, 'kpi-active'),
    kpi('Completed', data.completed, 'kpi-completed'),
    kpi('Verified hours', data.verifiedHours.total, 'kpi-hours'),
    kpi('At risk', data.atRisk, 'kpi-at-risk', data.atRisk ? 'bad' : undefined),
  );

  destroyCharts(context.main);
  context.main.replaceChildren(
    heading,
    notice ?? '',
    cards,
    h(
      'div',
      { class: 'grid' },
      funnel(data),
      hours(data),
      pace(data),
      societies ? comparison(context, societies) : null,
    ),
  );
}

function nameOf(context: ViewContext, code: string): string {
  const society = context.programme.societies.find((s) => s.code === code);
  return society ? ` – ${society.name}` : '';
}

function societyPicker(context: ViewContext): HTMLElement {
  const select = h(
    'select',
    {
      id: 'society',
      onchange: (event: Event) =>
        context.navigate({ society: (event.target as HTMLSelectElement).value || undefined }),
    },
    h('option', { value: '' }, 'All societies'),
    ...context.programme.societies.map((s) =>
      h('option', { value: s.code, selected: s.code === context.society }, `${s.code} – ${s.name}`),
    ),
  );
  return h('p', { class: 'picker' }, h('label', { for: 'society' }, 'Society '), select);
}

function kpi(label: string, value: number | null, id: string, tone?: string): HTMLElement {
  return h(
    'div',
    { class: `kpi${tone ? ` ${tone}` : ''}`, id },
    h(
      'span',
      { class: 'value', 'data-value': value === null ? 'null' : String(value) },
      figure(value),
    ),
    h('span', { class: 'label' }, label),
  );
}

const zero = (value: number | null) => value ?? 0;

function funnel(data: Figures): HTMLElement {
  const steps: Array<[string, number | null, string, number | null]> = [
    ['Applied', data.applications, '', null],
    ['Eligible', data.eligible, '', null],
    ['Recommended', data.recommended, 'Declined', data.declined],
    ['Matched', data.matched, 'Not selected', data.notSelected],
    ['Enrolled', data.enrolled, '', null],
    ['Completed', data.completed, 'Withdrawn', data.withdrawn],
  ];
  const canvas = draw(
    {
      type: 'bar',
      data: {
        labels: steps.map(([label, value]) => (value === null ? `${label} (–)` : label)),
        datasets: [
          {
            label: 'People at this step',
            data: steps.map(([, value]) => zero(value)),
            backgroundColor: COLOURS.main,
            stack: 'funnel',
          },
          {
            label: 'Left at this step',
            data: steps.map(([, , , left]) => zero(left)),
            backgroundColor: COLOURS.left,
            stack: 'funnel',
          },
        ],
      },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    },
    300,
  );
  const rows = steps.map(([label, value, leftLabel, left]) => [
    label,
    figure(value),
    leftLabel ? `${leftLabel}: ${figure(left)}` : '',
  ]);
  return chartCard(
    'Funnel',
    `From application to completion, with those who leave at each step. Recommended: ${figure(data.recommended)} of a quota of ${data.recommendationQuota}.`,
    canvas,
    table('Funnel', ['Step', 'People', 'Left here'], rows, { id: 'funnel-table' }),
    'funnel',
  );
}

function hours(data: Figures): HTMLElement {
  const v = data.verifiedHours;
  if (v.suppressed)
    return h(
      'section',
      { class: 'card chart', id: 'hours', 'aria-labelledby': 'hours-title' },
      h('h2', { id: 'hours-title' }, 'Verified hours'),
      h(
        'p',
        { class: 'hint' },
        'Hidden on this screen: they are the hours of too few participants to show without identifying them.',
      ),
    );
  const canvas = draw({
    type: 'bar',
    data: {
      labels: [...PILLARS.map(([, label]) => label), 'All pillars'],
      datasets: [
        {
          label: 'Verified hours',
          data: [zero(v.political), zero(v.professional), zero(v.social), zero(v.total)],
          backgroundColor: [COLOURS.political, COLOURS.professional, COLOURS.social, COLOURS.main],
        },
        {
          label: 'Expected by today at a linear pace',
          data: [null, null, null, zero(data.expectedHoursToDate)],
          backgroundColor: COLOURS.expected,
        },
      ],
    },
    options: {
      // The expected bar stands beside "All pillars" only, not as a gap beside each pillar.
      skipNull: true,
      scales: { y: { beginAtZero: true, title: { display: true, text: 'hours' } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
  const rows = [
    ...PILLARS.map(([key, label]) => [label, figure(v[key]), '']),
    ['All pillars', figure(v.total), figure(data.expectedHoursToDate)],
  ];
  return chartCard(
    'Verified hours',
    `Per pillar, and in all against what a linear pace expects by today (${figure(data.expectedHoursToDate, 'h')}).`,
    canvas,
    table('Verified hours', ['Pillar', 'Verified', 'Expected by today'], rows, {
      id: 'hours-table',
    }),
    'hours',
  );
}

function pace(data: Figures): HTMLElement {
  const canvas = draw(
    {
      type: 'bar',
      data: {
        labels: ['Participants'],
        datasets: PACES.map(([key, label]) => ({
          label: data.pace[key] === null ? `${label} (–)` : label,
          data: [zero(data.pace[key])],
          backgroundColor: COLOURS[key],
          stack: 'pace',
        })),
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: { beginAtZero: true, stacked: true, ticks: { precision: 0 } },
          y: { stacked: true },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    },
    170,
  );
  return chartCard(
    'Pace',
    'Participants by pace against the hours a linear pace expects by today.',
    canvas,
    table(
      'Pace',
      ['Pace', 'Participants'],
      PACES.map(([key, label]) => [label, figure(data.pace[key])]),
      { id: 'pace-table' },
    ),
    'pace',
  );
}

function comparison(context: ViewContext, societies: readonly Figures[]): HTMLElement {
  const codes = societies.map((s) => s.society ?? '');
  const canvas = draw({
    type: 'bar',
    data: {
      labels: codes,
      datasets: [
        {
          label: 'Recommended',
          data: societies.map((s) => zero(s.recommended)),
          backgroundColor: COLOURS.main,
        },
        {
          label: 'Enrolled',
          data: societies.map((s) => zero(s.enrolled)),
          backgroundColor: COLOURS.on_track,
        },
        {
          label: 'Completed',
          data: societies.map((s) => zero(s.completed)),
          backgroundColor: COLOURS.completed,
        },
        {
          label: 'At risk',
          data: societies.map((s) => zero(s.atRisk)),
          backgroundColor: COLOURS.at_risk,
        },
      ],
    },
    options: {
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
  const rows = societies.map((s) => [
    `${s.society ?? ''}${nameOf(context, s.society ?? '')}`,
    figure(s.applications),
    `${figure(s.recommended)} of ${s.recommendationQuota}`,
    figure(s.enrolled),
    figure(s.completed),
    figure(s.atRisk),
    figure(s.verifiedHours.total),
  ]);
  return chartCard(
    'Societies compared',
    'Recommended, enrolled, completed and at-risk participants per society.',
    canvas,
    table(
      'Societies compared',
      [
        'Society',
        'Applications',
        'Recommended',
        'Enrolled',
        'Completed',
        'At risk',
        'Verified hours',
      ],
      rows,
      { id: 'societies-table' },
    ),
    'societies',
  );
}
