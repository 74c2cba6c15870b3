// One participant: figures, cumulative verified hours against the expected line over the window,
// pending activities to verify or reject (staff), the timeline in pages, and for auditors and
// admins the as-of pickers ("what did the system show on knownAt about asOf").
import { ApiError, allPages, api, withQuery } from './api';
import { COLOURS, destroyCharts, draw } from './charts';
import { chartCard, figure, h, table } from './dom';
import type { ViewContext } from './view';

type Progress = {
  participantId: string;
  societyCode: string;
  status: string;
  windowStart: string;
  windowEnd: string;
  verifiedHours: { political: number; professional: number; social: number; total: number };
  pendingHours: number;
  requiredHours: number;
  percentComplete: number;
  expectedHoursToDate: number;
  pace: string;
  projectedCompletionDate: string | null;
  lastActivityOn: string | null;
};

type TimelineItem = {
  position: number;
  type: string;
  occurredOn?: string;
  recordedAt: string;
  actor: { sub: string; role: string };
  summary: string;
  data: Record<string, unknown>;
};

type Activity = {
  activityId: string;
  title: string;
  pillar: string;
  hours: number;
  occurredOn: string;
  state: 'pending' | 'verified' | 'rejected' | 'retracted';
};

const PAGE = 20;

/** The outcome of the last decision sent from this page, shown again when the page is redrawn. */
let lastOutcome: { base: string; text: string; error: boolean } | undefined;
const DAY = 86_400_000;

const text = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';

/** The activities as the timeline tells them (the same events the progress is folded from). */
function activitiesOf(items: readonly TimelineItem[]): Activity[] {
  const activities = new Map<string, Activity>();
  for (const { type, data, occurredOn } of items) {
    const id = text(data.activityId);
    const known = activities.get(id);
    switch (type) {
      case 'ActivityLogged':
        activities.set(id, {
          activityId: id,
          title: typeof data.title === 'string' ? data.title : '(erased)',
          pillar: text(data.pillar),
          hours: Number(data.hours),
          occurredOn: text(data.occurredOn) || (occurredOn ?? ''),
          state: 'pending',
        });
        break;
      case 'ActivityVerified':
        if (known) known.state = 'verified';
        break;
      case 'ActivityRejected':
        if (known) known.state = 'rejected';
        break;
      case 'ActivityRetracted':
        if (known) known.state = 'retracted';
        break;
      case 'ActivityCorrected':
        if (known)
          Object.assign(known, {
            hours: Number(data.hours ?? known.hours),
            pillar: text(data.pillar) || known.pillar,
            state: 'pending',
          });
        break;
    }
  }
  return [...activities.values()];
}

const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY;
const dateOf = (day: number) => new Date(Math.round(day) * DAY).toISOString().slice(0, 10);

export async function participantPage(context: ViewContext, minPosition: number): Promise<void> {
  const id = decodeURIComponent(location.pathname.split('/')[3] ?? '');
  const params = new URLSearchParams(location.search);
  const asOf = params.get('asOf') ?? undefined;
  const knownAt = params.get('knownAt') ?? undefined;
  const pastQuery = { asOf, knownAt };
  const base = `/v1/participants/${encodeURIComponent(id)}`;
  let progress: Progress;
  let etag: string | null;
  let items: TimelineItem[];
  try {
    const answer = await api<Progress>(
      withQuery(`${base}/progress`, { ...pastQuery, minPosition }),
    );
    progress = answer.body;
    etag = answer.etag;
    items = await allPages<TimelineItem>(`${base}/timeline`, { ...pastQuery, minPosition });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
      destroyCharts(context.main);
      context.main.replaceChildren(
        h('h1', {}, 'Participant'),
        h('p', { class: 'error', role: 'alert' }, error.message),
        h(
          'p',
          {},
          h('a', { href: `/dashboard/staff${location.search}` }, 'Back to the participants'),
        ),
      );
      return;
    }
    throw error;
  }
  const activities = activitiesOf(items);
  const name =
    (items.find((item) => item.type === 'ParticipantEnrolled')?.data.fullName as
      string | undefined) ?? null;
  const canDecide = context.claims.role === 'society_staff' && !asOf && !knownAt;
  const pending = activities.filter((a) => a.state === 'pending');

  destroyCharts(context.main);
  context.main.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h(
        'p',
        {},
        h('a', { href: `/dashboard/staff${keep(['programme', 'society'])}` }, '← Participants'),
      ),
      h('h1', {}, name ?? `Participant ${id.slice(0, 8)}`),
      h(
        'p',
        { class: 'scope' },
        `Society ${progress.societyCode} · ${progress.status} · window ${progress.windowStart} to ${progress.windowEnd}`,
      ),
      asOf || knownAt
        ? h(
            'p',
            { class: 'notice', id: 'as-of-note' },
            `As the system showed ${knownAt ? `on ${new Date(knownAt).toLocaleString('en-GB')}` : 'now'} about ${asOf ?? 'that day'}.`,
          )
        : null,
    ),
    ['auditor', 'programme_admin'].includes(context.claims.role)
      ? pickers(context, asOf, knownAt)
      : '',
    h(
      'section',
      { class: 'kpis', 'aria-label': 'Key figures' },
      kpi('Verified hours', progress.verifiedHours.total, 'p-verified'),
      kpi('Pending hours', progress.pendingHours, 'p-pending'),
      kpi('Expected by today', progress.expectedHoursToDate, 'p-expected'),
      kpi('Complete', progress.percentComplete, 'p-percent', '%'),
      h(
        'div',
        { class: 'kpi', id: 'p-pace' },
        h(
          'span',
          { class: `value pace pace-${progress.pace}`, 'data-value': progress.pace },
          progress.pace.replace('_', ' '),
        ),
        h('span', { class: 'label' }, 'Pace'),
      ),
    ),
    h(
      'div',
      { class: 'grid' },
      cumulative(progress, activities),
      canDecide || pending.length > 0 ? pendingCard(context, base, pending, etag, canDecide) : null,
      timeline(base, pastQuery, minPosition),
    ),
  );
}

function keep(names: readonly string[]): string {
  const params = new URLSearchParams(location.search);
  const kept = new URLSearchParams();
  for (const name of names) {
    const value = params.get(name);
    if (value) kept.set(name, value);
  }
  const text = kept.toString();
  return text ? `?${text}` : '';
}

function kpi(label: string, value: number, id: string, unit = ''): HTMLElement {
  return h(
    'div',
    { class: 'kpi', id },
    h('span', { class: 'value', 'data-value': String(value) }, `${figure(value)}${unit}`),
    h('span', { class: 'label' }, label),
  );
}

function pickers(context: ViewContext, asOf?: string, knownAt?: string): HTMLElement {
  const asOfInput = h('input', { id: 'as-of', type: 'date', value: asOf ?? '' });
  const localKnownAt = knownAt ? toLocalInput(new Date(knownAt)) : '';
  const knownAtInput = h('input', { id: 'known-at', type: 'datetime-local', value: localKnownAt });
  return h(
    'form',
    {
      class: 'card pickers',
      'aria-label': 'As of',
      onsubmit: (event: Event) => {
        event.preventDefault();
        context.navigate({
          asOf: asOfInput.value || undefined,
          knownAt: knownAtInput.value ? new Date(knownAtInput.value).toISOString() : undefined,
        });
      },
    },
    h('div', {}, h('label', { for: 'as-of' }, 'State on (asOf)'), asOfInput),
    h('div', {}, h('label', { for: 'known-at' }, 'As known at (knownAt)'), knownAtInput),
    h('button', { type: 'submit' }, 'Show'),
    asOf || knownAt
      ? h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => context.navigate({ asOf: undefined, knownAt: undefined }),
          },
          'Back to now',
        )
      : null,
  );
}

function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function cumulative(progress: Progress, activities: readonly Activity[]): HTMLElement {
  const start = dayNumber(progress.windowStart);
  const end = dayNumber(progress.windowEnd);
  const verified = activities
    .filter((a) => a.state === 'verified')
    .sort((a, b) => a.occurredOn.localeCompare(b.occurredOn));
  let sum = 0;
  const points = [{ x: start, y: 0 }];
  for (const activity of verified) {
    sum += activity.hours;
    points.push({ x: Math.max(start, dayNumber(activity.occurredOn)), y: sum });
  }
  const canvas = draw(
    {
      type: 'line',
      data: {
        datasets: [
          {
            label: 'Verified hours, cumulative',
            data: points,
            borderColor: COLOURS.main,
            backgroundColor: 'rgba(5, 80, 174, 0.12)',
            fill: true,
            stepped: 'before',
            pointRadius: 4,
          },
          {
            label: 'Expected at a linear pace',
            data: [
              { x: start, y: 0 },
              { x: end, y: progress.requiredHours },
            ],
            borderColor: COLOURS.expected,
            borderDash: [6, 4],
            pointRadius: 0,
          },
        ],
      },
      options: {
        parsing: false,
        scales: {
          x: {
            type: 'linear',
            min: start,
            max: end,
            ticks: { callback: (value) => dateOf(Number(value)).slice(0, 7), maxTicksLimit: 9 },
          },
          y: { beginAtZero: true, title: { display: true, text: 'hours' } },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { title: (items) => dateOf(Number(items[0]?.parsed.x ?? start)) } },
        },
      },
    },
    300,
  );
  let running = 0;
  const rows = verified.map((a) => {
    running += a.hours;
    return [a.occurredOn, a.title, a.pillar, figure(a.hours), figure(running)];
  });
  return chartCard(
    'Verified hours over the window',
    `${figure(progress.verifiedHours.total)} verified hours of ${progress.requiredHours} required; a linear pace expects ${figure(progress.expectedHoursToDate)} by today.`,
    canvas,
    table(
      'Verified activities, cumulative',
      ['Date', 'Activity', 'Pillar', 'Hours', 'Cumulative'],
      rows,
      {
        id: 'cumulative-table',
      },
    ),
    'cumulative',
  );
}

function pendingCard(
  context: ViewContext,
  base: string,
  pending: readonly Activity[],
  etag: string | null,
  canDecide: boolean,
): HTMLElement {
  // The page is drawn again after a decision (and on every change): the outcome stays shown.
  const message = h(
    'p',
    {
      class: lastOutcome?.error ? 'message error' : 'message',
      role: 'status',
      id: 'decision-message',
    },
    lastOutcome?.base === base ? lastOutcome.text : '',
  );
  const remember = (text: string, error = false) => {
    lastOutcome = { base, text, error };
    message.className = error ? 'message error' : 'message';
    message.textContent = text;
  };
  const decide = async (
    activity: Activity,
    action: 'verification' | 'rejection',
    reason?: string,
  ) => {
    remember('Sending…');
    try {
      const answer = await api<{ position: number }>(
        `${base}/activities/${encodeURIComponent(activity.activityId)}/${action}`,
        {
          method: 'POST',
          body: action === 'rejection' ? { reason } : {},
          headers: etag ? { 'if-match': etag } : {},
        },
      );
      remember(action === 'verification' ? 'Verified.' : 'Rejected.');
      await context.refresh(answer.body.position);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        lastOutcome = undefined;
        message.className = 'message error';
        message.replaceChildren(
          'This participant changed meanwhile: reload to see the change, then decide again. ',
          h('button', { type: 'button', onclick: () => void context.refresh() }, 'Reload'),
        );
      } else remember((error as Error).message, true);
    }
  };
  const rows = pending.map((activity) => {
    const reasonId = `reason-${activity.activityId}`;
    const reason = h('input', {
      id: reasonId,
      type: 'text',
      maxlength: 500,
      placeholder: 'reason to reject',
    });
    return h(
      'tr',
      { 'data-activity': activity.activityId },
      h('th', { scope: 'row' }, activity.title),
      h('td', { 'data-label': 'Pillar' }, activity.pillar),
      h('td', { class: 'num', 'data-label': 'Hours' }, figure(activity.hours)),
      h('td', { 'data-label': 'Date' }, activity.occurredOn),
      canDecide
        ? h(
            'td',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                class: 'verify',
                onclick: () => void decide(activity, 'verification'),
              },
              'Verify',
            ),
            h(
              'label',
              { for: reasonId, class: 'visually-hidden' },
              `Reason to reject ${activity.title}`,
            ),
            reason,
            h(
              'button',
              {
                type: 'button',
                class: 'reject',
                onclick: () => {
                  if (!reason.value.trim()) {
                    remember('Give a reason to reject.', true);
                    reason.focus();
                    return;
                  }
                  void decide(activity, 'rejection', reason.value.trim());
                },
              },
              'Reject',
            ),
          )
        : null,
    );
  });
  return h(
    'section',
    { class: 'card', id: 'pending', 'aria-labelledby': 'pending-title' },
    h('h2', { id: 'pending-title' }, `Pending activities (${pending.length})`),
    pending.length === 0
      ? h('p', { class: 'hint' }, 'Nothing waits for verification.')
      : h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'data' },
            h('caption', { class: 'visually-hidden' }, 'Activities waiting for verification'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Activity', 'Pillar', 'Hours', 'Date', canDecide ? 'Decision' : null]
                  .filter((label): label is string => label !== null)
                  .map((label) => h('th', { scope: 'col' }, label)),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
        ),
    message,
  );
}

function timeline(
  base: string,
  pastQuery: { asOf?: string; knownAt?: string },
  minPosition: number,
): HTMLElement {
  const list = h('ol', { class: 'timeline', id: 'timeline' });
  const more = h('button', { type: 'button', id: 'timeline-more', hidden: true }, 'Show more');
  let cursor: string | undefined;
  const load = async () => {
    more.disabled = true;
    const page = await api<{ items: TimelineItem[]; nextCursor: string | null }>(
      withQuery(`${base}/timeline`, { ...pastQuery, minPosition, limit: PAGE, cursor }),
    );
    list.append(
      ...page.body.items.map((item) =>
        h(
          'li',
          {},
          h('time', { datetime: item.recordedAt }, item.occurredOn ?? item.recordedAt.slice(0, 10)),
          h('span', { class: 'summary' }, item.summary),
          h('span', { class: 'actor' }, item.actor.role.replace('_', ' ')),
        ),
      ),
    );
    cursor = page.body.nextCursor ?? undefined;
    more.hidden = !cursor;
    more.disabled = false;
  };
  more.addEventListener('click', () => void load());
  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, 'Timeline'),
    list,
    more,
  );
}
