// The society's participants as a sortable table (staff see their own society; admins and
// auditors any, or all).
import { allPages } from './api';
import { destroyCharts } from './charts';
import { figure, h } from './dom';
import type { ViewContext } from './view';

export type ParticipantRow = {
  participantId: string;
  fullName: string | null;
  societyCode: string;
  status: string;
  verifiedHours: { political: number; professional: number; social: number; total: number };
  pendingHours: number;
  expectedHoursToDate: number;
  pace: string;
  lastActivityOn: string | null;
};

type Column = {
  readonly key: string;
  readonly label: string;
  readonly value: (row: ParticipantRow) => string | number;
  readonly numeric?: boolean;
  readonly show?: (row: ParticipantRow) => Node | string;
};

const PACE_ORDER = ['at_risk', 'behind', 'on_track', 'ahead', 'completed', 'withdrawn'];

const COLUMNS: readonly Column[] = [
  {
    key: 'name',
    label: 'Name',
    value: (row) => row.fullName ?? '',
    show: (row) =>
      h(
        'a',
        {
          href: `/dashboard/participants/${encodeURIComponent(row.participantId)}${location.search}`,
        },
        row.fullName ?? '(erased)',
      ),
  },
  { key: 'society', label: 'Society', value: (row) => row.societyCode },
  { key: 'status', label: 'Status', value: (row) => row.status },
  {
    key: 'political',
    label: 'Political h',
    value: (row) => row.verifiedHours.political,
    numeric: true,
  },
  {
    key: 'professional',
    label: 'Professional h',
    value: (row) => row.verifiedHours.professional,
    numeric: true,
  },
  { key: 'social', label: 'Social h', value: (row) => row.verifiedHours.social, numeric: true },
  { key: 'total', label: 'Verified h', value: (row) => row.verifiedHours.total, numeric: true },
  { key: 'pending', label: 'Pending h', value: (row) => row.pendingHours, numeric: true },
  {
    key: 'pace',
    label: 'Pace',
    value: (row) => PACE_ORDER.indexOf(row.pace),
    show: (row) => h('span', { class: `pace pace-${row.pace}` }, row.pace.replace('_', ' ')),
  },
  { key: 'last', label: 'Last activity', value: (row) => row.lastActivityOn ?? '' },
];

let sort: { key: string; ascending: boolean } = { key: 'pace', ascending: true };

export async function staffTable(context: ViewContext, minPosition: number): Promise<void> {
  const rows = await allPages<ParticipantRow>(
    `/v1/programmes/${encodeURIComponent(context.programme.programmeId)}/participants`,
    { society: context.society, minPosition },
  );
  // One society's staff need no society column (and a phone has no room for it).
  const columns = context.society ? COLUMNS.filter((c) => c.key !== 'society') : COLUMNS;
  const body = h('tbody', {});
  const head = h('tr', {});
  const render = (): void => {
    const column = columns.find((c) => c.key === sort.key) ?? columns[0]!;
    const sorted = [...rows].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      const order =
        typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.ascending ? order : -order;
    });
    head.replaceChildren(
      ...columns.map((c) =>
        h(
          'th',
          {
            scope: 'col',
            class: c.numeric ? 'num' : undefined,
            'aria-sort':
              c.key === sort.key ? (sort.ascending ? 'ascending' : 'descending') : undefined,
          },
          h(
            'button',
            {
              type: 'button',
              class: 'sort',
              'data-sort': c.key,
              onclick: () => {
                sort = { key: c.key, ascending: sort.key === c.key ? !sort.ascending : true };
                render();
              },
            },
            c.label,
            h(
              'span',
              { 'aria-hidden': 'true' },
              c.key === sort.key ? (sort.ascending ? ' ▲' : ' ▼') : '',
            ),
          ),
        ),
      ),
    );
    body.replaceChildren(
      ...sorted.map((row) =>
        h(
          'tr',
          { 'data-participant': row.participantId },
          ...columns.map((c, index) => {
            const content = c.show
              ? c.show(row)
              : c.numeric
                ? figure(Number(c.value(row)))
                : String(c.value(row) || '–');
            return index === 0
              ? h('th', { scope: 'row' }, content)
              : h('td', { class: c.numeric ? 'num' : undefined, 'data-key': c.key }, content);
          }),
        ),
      ),
    );
  };
  render();
  const scope = context.society ? `Society ${context.society}` : 'All societies';
  destroyCharts(context.main);
  context.main.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Participants'),
      h('p', { class: 'scope' }, `${scope} · ${rows.length} participants`),
    ),
    h(
      'div',
      { class: 'card' },
      h(
        'p',
        { class: 'hint', id: 'participants-hint' },
        'Verified hours per pillar, pending hours and pace as of today. Select a column heading to sort.',
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {
            class: 'data sortable',
            id: 'participants',
            'aria-describedby': 'participants-hint',
          },
          h('caption', { class: 'visually-hidden' }, `Participants, ${scope}`),
          h('thead', {}, head),
          body,
        ),
      ),
      rows.length === 0 ? h('p', { class: 'hint' }, 'No participants yet.') : null,
    ),
  );
}
