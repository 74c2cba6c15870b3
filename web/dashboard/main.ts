// The dashboard pages: programme overview (/dashboard), the society's participants
// (/dashboard/staff) and one participant (/dashboard/participants/:id, with as-of pickers for
// auditors). One script for all three; the path picks the view.
import {
  ApiError,
  api,
  claimsOf,
  followChanges,
  takeTokenFromFragment,
  token,
  type Claims,
  withQuery,
} from './api';
import { destroyCharts } from './charts';
import { h, time } from './dom';
import { completeSignIn, signIn, type OidcSettings } from './oidc';
import { overview } from './overview';
import { participantPage } from './participant';
import { staffTable } from './staff';
import type { Programme, View, ViewContext } from './view';

/** What the service says in the page: its claim names, and its OIDC provider if it has one. */
type Settings = { roleClaim: string; societyClaim: string; oidc?: OidcSettings };
const settings = JSON.parse(
  document.querySelector('meta[name="dashboard-settings"]')?.getAttribute('content') ??
    '{"roleClaim":"role","societyClaim":"society"}',
) as Settings;

const main = document.getElementById('main') as HTMLElement;
const status = document.getElementById('status') as HTMLElement;
const live = document.getElementById('live') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const account = document.getElementById('account') as HTMLElement;

function viewOf(path: string): { view: View; name: string } {
  if (/^\/dashboard\/staff\/?$/.test(path)) return { view: staffTable, name: 'staff' };
  if (/^\/dashboard\/participants\/[^/]+\/?$/.test(path))
    return { view: participantPage, name: 'participant' };
  return { view: overview, name: 'overview' };
}

function showSignIn(message?: string): void {
  destroyCharts(main);
  nav.replaceChildren();
  account.replaceChildren();
  status.textContent = '';
  live.hidden = true;
  const input = h('input', {
    id: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'token-help',
  });
  const oidc = settings.oidc;
  const form = h(
    'form',
    {
      id: 'sign-in',
      onsubmit: (event: Event) => {
        event.preventDefault();
        token.set(input.value);
        void start();
      },
    },
    h('label', { for: 'token' }, 'Bearer token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'hint' },
      'Kept in this browser tab only. A wall screen can open /dashboard#token=… instead. ',
      'Locally: npm run -s cli -- token --role dashboard',
    ),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  main.replaceChildren(
    h(
      'section',
      { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
      h('h1', { id: 'sign-in-title' }, 'Sign in'),
      message ? h('p', { class: 'error', role: 'alert' }, message) : null,
      // With a provider, its sign-in comes first; a pasted token stays possible for operators.
      oidc
        ? h(
            'p',
            {},
            h(
              'a',
              {
                href: '#',
                id: 'oidc-sign-in',
                class: 'button',
                onclick: (event: Event) => {
                  event.preventDefault();
                  signIn(oidc).catch((error: Error) => showSignIn(error.message));
                },
              },
              'Sign in with your organisation account',
            ),
          )
        : null,
      oidc ? h('details', {}, h('summary', {}, 'Paste a token instead'), form) : form,
    ),
  );
  if (oidc) document.getElementById('oidc-sign-in')?.focus();
  else input.focus();
}

let stopFollowing: (() => void) | undefined;

async function start(): Promise<void> {
  stopFollowing?.();
  if (settings.oidc) {
    try {
      await completeSignIn(settings.oidc);
    } catch (error) {
      showSignIn((error as Error).message);
      return;
    }
  }
  const claims = claimsOf(token.get(), settings);
  if (!claims) {
    showSignIn(token.get() ? 'That is not a token this service issues.' : undefined);
    return;
  }
  try {
    const programmes = (await api<{ items: Programme[] }>('/v1/programmes')).body.items;
    const params = new URLSearchParams(location.search);
    const programme =
      programmes.find((p) => p.programmeId === params.get('programme')) ?? programmes[0];
    if (!programme) {
      main.replaceChildren(h('p', {}, 'No programme is defined yet.'));
      return;
    }
    const { view, name } = viewOf(location.pathname);
    drawChrome(claims, name);
    const society =
      claims.role === 'society_staff' ? claims.society : params.get('society') || undefined;
    let shown = 0;
    let running: Promise<void> | undefined;
    let wanted: number | undefined;
    const context: ViewContext = {
      claims,
      programme,
      programmes,
      main,
      society,
      navigate: (query) => {
        const next = new URLSearchParams(location.search);
        for (const [key, value] of Object.entries(query))
          if (value) next.set(key, value);
          else next.delete(key);
        const text = next.toString();
        history.pushState(null, '', `${location.pathname}${text ? `?${text}` : ''}`);
        void start();
      },
      // One redraw at a time; positions that arrive meanwhile make one more, at the newest.
      refresh: async (minPosition) => {
        wanted = Math.max(wanted ?? 0, minPosition ?? shown);
        if (running) return running;
        running = (async () => {
          while (wanted !== undefined) {
            const position = wanted;
            wanted = undefined;
            try {
              await view(context, position);
              shown = Math.max(shown, position);
              status.textContent = `Consistent through position ${shown}, updated ${time(new Date())}`;
              status.classList.remove('error');
            } catch (error) {
              if (error instanceof ApiError && error.status === 401) {
                token.clear();
                showSignIn('The token was refused (expired or not valid here). Sign in again.');
                return;
              }
              status.textContent = `Could not update: ${(error as Error).message}`;
              status.classList.add('error');
            }
          }
        })();
        try {
          await running;
        } finally {
          running = undefined;
        }
      },
    };
    const current = (
      await api<{ position: number }>(
        withQuery(`/v1/programmes/${encodeURIComponent(programme.programmeId)}/changes`, {
          society,
        }),
      )
    ).body.position;
    await context.refresh(current);
    // As-of views show the past: nothing new arrives for them.
    if (params.has('asOf') || params.has('knownAt')) {
      live.hidden = true;
      return;
    }
    stopFollowing = followChanges(
      programme.programmeId,
      society,
      (position) => {
        if (position > shown) void context.refresh(position);
      },
      (on) => {
        live.hidden = false;
        live.textContent = on ? 'Live' : 'Reconnecting…';
        live.classList.toggle('off', !on);
      },
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      token.clear();
      showSignIn('The token was refused (expired or not valid here). Sign in again.');
      return;
    }
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, (error as Error).message));
  }
}

function drawChrome(claims: Claims, current: string): void {
  const link = (href: string, label: string, name: string) =>
    h(
      'a',
      {
        href: `${href}${location.search.includes('programme=') ? location.search : ''}`,
        'aria-current': current === name ? 'page' : undefined,
      },
      label,
    );
  const staffRoles = ['society_staff', 'programme_admin', 'auditor'];
  nav.replaceChildren(
    link('/dashboard', 'Overview', 'overview'),
    staffRoles.includes(claims.role) ? link('/dashboard/staff', 'Participants', 'staff') : '',
  );
  account.replaceChildren(
    h(
      'span',
      { class: 'who' },
      `${claims.role.replace('_', ' ')}${claims.society ? ` · ${claims.society}` : ''}`,
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          token.clear();
          stopFollowing?.();
          showSignIn();
        },
      },
      'Sign out',
    ),
  );
}

takeTokenFromFragment();
window.addEventListener('popstate', () => void start());
void start();
