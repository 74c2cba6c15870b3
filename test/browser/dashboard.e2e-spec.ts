/// <reference lib="dom" />
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Role } from '../../src/shared/principal';
import type { StoreKind } from '../support/app';
import { startDemoApp, type DemoApp } from '../support/demo-app';

/**
 * The dashboard pages in a real browser (Debian's Chromium, driven by playwright-core) against
 * the real app with the demo cohort: the figures a person sees are the API's for the same token,
 * a command shows on an open page within 2 s, staff decide from the page, and axe-core finds no
 * serious or critical accessibility violation. Screenshots go to test/artifacts/ (git-ignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const P = 'cast-dtdp-2025';
const WALL = { width: 1920, height: 1080 };
const PHONE = { width: 390, height: 844 };

if (!HAVE_CHROMIUM)
  process.stderr.write(
    `Browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it).\n`,
  );

/** A figure as the pages show it: "–" for a suppressed one. */
const shown = (value: number | null | undefined): string =>
  value === null || value === undefined
    ? '–'
    : Number.isInteger(value)
      ? value.toLocaleString('en')
      : value.toFixed(1);

type Progress = {
  participantId: string;
  verifiedHours: { political: number; professional: number; social: number; total: number };
  pendingHours: number;
  expectedHoursToDate: number;
  pace: string;
  fullName?: string | null;
};

(HAVE_CHROMIUM ? describe : describe.skip).each<StoreKind>(['sqlite', 'postgres'])(
  `dashboard pages in Chromium (%s)${HAVE_CHROMIUM ? '' : ` — skipped: no ${CHROMIUM}`}`,
  (kind) => {
    let app: DemoApp;
    let browser: Browser;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      [app, browser] = await Promise.all([
        startDemoApp(kind),
        chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true }),
      ]);
    }, 60_000);
    afterAll(async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser?.close();
      await app?.close();
    });

    const bearer = async (role: Role, society?: string) =>
      (await app.auth(role, society ? { society, sub: `${role}-${society}` } : {})).authorization!;
    // The last position this test wrote: reads wait for it (PostgreSQL's read models may lag).
    let latest = 0;
    const apiGet = async <T>(url: string, authorization: string): Promise<T> => {
      const read = url.includes('minPosition=')
        ? url
        : `${url}${url.includes('?') ? '&' : '?'}minPosition=${Math.max(latest, app.position)}`;
      const response = await app.request({ method: 'GET', url: read, headers: { authorization } });
      expect(response.statusCode).toBe(200);
      return response.json<T>();
    };
    const apiPost = async (url: string, headers: Record<string, string>, body: unknown = {}) => {
      const response = await app.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...headers },
        payload: JSON.stringify(body),
      });
      expect(response.statusCode).toBeLessThan(300);
      const answer = response.json<{ position: number; activityId?: string }>();
      latest = Math.max(latest, answer.position);
      return answer;
    };

    /** A page signed in as a wall screen would be: `#token=` in the address. */
    const open = async (
      authorization: string,
      path: string,
      viewport = WALL,
      before?: (page: Page) => Promise<void>,
    ): Promise<Page> => {
      const context = await browser.newContext({ viewport, bypassCSP: true });
      contexts.push(context);
      // A wait that fails says where, well before the test's own 30 s.
      context.setDefaultTimeout(5000);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await before?.(page);
      await page.goto(`${app.base}${path}#token=${authorization.slice('Bearer '.length)}`);
      await page.locator('#status', { hasText: 'Consistent through position' }).waitFor();
      expect(errors).toEqual([]);
      return page;
    };
    const value = (page: Page, id: string) =>
      page.locator(`#${id} .value`).getAttribute('data-value');
    const rows = (page: Page, table: string) =>
      page.$$eval(`#${table} tbody tr`, (trs) =>
        trs.map((tr) => [...tr.children].map((cell) => (cell.textContent ?? '').trim())),
      );

    /** axe-core on the page as it is: no serious or critical violation. */
    const expectAccessible = async (page: Page, name: string) => {
      // The tables behind the charts are checked too, opened.
      await page.$$eval('details', (all) => all.forEach((d) => d.setAttribute('open', '')));
      await page.addScriptTag({ content: AXE });
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } })
          .axe;
        const result = await axe.run();
        return (result.violations as Array<{ id: string; impact: string; nodes: unknown[] }>)
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
      });
      expect({ page: name, violations }).toEqual({ page: name, violations: [] });
    };
    const screenshot = async (page: Page, name: string) => {
      await page.waitForTimeout(150); // the charts draw on the next frame
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${kind}.png`), fullPage: true });
    };

    it('overview: the page shows the API figures for the dashboard, staff and admin tokens; the token leaves the address bar', async () => {
      for (const [role, society] of [
        ['dashboard', undefined],
        ['society_staff', 'B33'],
        ['programme_admin', undefined],
      ] as const) {
        const authorization = await bearer(role, society);
        const api = await apiGet<Record<string, unknown> & { pace: Record<string, number | null> }>(
          `/v1/programmes/${P}/dashboard?minPosition=${app.position}`,
          authorization,
        );
        const page = await open(authorization, '/dashboard');
        expect(new URL(page.url()).hash).toBe('');
        expect(await page.evaluate(() => sessionStorage.getItem('dashboard.token'))).toBe(
          authorization.slice('Bearer '.length),
        );
        const hours = api.verifiedHours as { total: number | null };
        expect({
          applications: await value(page, 'kpi-applications'),
          enrolled: await value(page, 'kpi-enrolled'),
          active: await value(page, 'kpi-active'),
          completed: await value(page, 'kpi-completed'),
          hours: await value(page, 'kpi-hours'),
          atRisk: await value(page, 'kpi-at-risk'),
        }).toEqual({
          applications: String(api.applications),
          enrolled: String(api.enrolled),
          active: String(api.active),
          completed: String(api.completed),
          hours: String(hours.total),
          atRisk: String(api.atRisk),
        });
        expect(await rows(page, 'pace-table')).toEqual(
          ['ahead', 'on_track', 'behind', 'at_risk', 'completed', 'withdrawn'].map((pace, i) => [
            ['Ahead', 'On track', 'Behind', 'At risk', 'Completed', 'Withdrawn'][i]!,
            shown(api.pace[pace]),
          ]),
        );
        const funnel = await rows(page, 'funnel-table');
        expect(funnel.map((row) => row[1])).toEqual(
          ['applications', 'eligible', 'recommended', 'matched', 'enrolled', 'completed'].map(
            (key) => shown(api[key] as number | null),
          ),
        );
        if (role === 'dashboard') {
          // The demo's two participants are fewer than DASHBOARD_MIN_GROUP: hidden, as the API.
          expect(api.enrolled).toBeNull();
          expect(await page.locator('#kpi-enrolled .value').textContent()).toBe('–');
          await expect(page.locator('#suppressed-note').isVisible()).resolves.toBe(true);
        }
        if (role === 'programme_admin') {
          const b33 = await apiGet<Record<string, number | null>>(
            `/v1/programmes/${P}/dashboard?society=B33`,
            authorization,
          );
          const [row] = await rows(page, 'societies-table');
          expect(row?.slice(1, 3)).toEqual([
            shown(b33.applications),
            `${shown(b33.recommended)} of ${b33.recommendationQuota}`,
          ]);
        }
        await screenshot(page, `overview-${role}`);
        await expectAccessible(page, `overview as ${role}`);
      }
      const phone = await open(await bearer('dashboard'), '/dashboard', PHONE);
      await screenshot(phone, 'overview-dashboard-phone');
    });

    it('staff table: the rows are the API list for staff and admin; staff of another society see nothing of B33', async () => {
      for (const [role, society] of [
        ['society_staff', 'B33'],
        ['programme_admin', undefined],
      ] as const) {
        const authorization = await bearer(role, society);
        const api = await apiGet<{ items: Progress[] }>(
          `/v1/programmes/${P}/participants`,
          authorization,
        );
        const page = await open(authorization, '/dashboard/staff');
        const table = await rows(page, 'participants');
        expect(table).toHaveLength(api.items.length);
        const cell = (tr: string, key: string) =>
          page.locator(`#participants ${tr} td[data-key="${key}"]`).allTextContents();
        for (const item of api.items) {
          const tr = `tr[data-participant="${item.participantId}"]`;
          const figures: string[] = [];
          for (const key of ['political', 'professional', 'social', 'total', 'pending', 'pace'])
            figures.push(...(await cell(tr, key)));
          expect(figures).toEqual([
            ...[
              item.verifiedHours.political,
              item.verifiedHours.professional,
              item.verifiedHours.social,
              item.verifiedHours.total,
              item.pendingHours,
            ].map(shown),
            item.pace.replace('_', ' '),
          ]);
        }
        // Sorting by a column heading, with the keyboard.
        await page.locator('button[data-sort="total"]').focus();
        await page.keyboard.press('Enter');
        const totals = (await cell('tbody tr', 'total')).map(Number);
        expect(totals).toEqual([...totals].sort((a, b) => a - b));
        await expect(page.locator('th[aria-sort]').getAttribute('aria-sort')).resolves.toBe(
          'ascending',
        );
        await screenshot(page, `staff-${role}`);
        await expectAccessible(page, `staff table as ${role}`);
      }
      const b33 = await apiGet<{ items: Progress[] }>(
        `/v1/programmes/${P}/participants`,
        await bearer('programme_admin'),
      );
      const other = await bearer('society_staff', 'A01');
      const page = await open(other, '/dashboard/staff');
      expect(await rows(page, 'participants')).toEqual([]);
      const participant = await open(
        other,
        `/dashboard/participants/${b33.items[0]!.participantId}`,
      );
      await participant.locator('[role="alert"]').waitFor();
      for (const visited of [page, participant]) {
        const text = (await visited.textContent('body')) ?? '';
        for (const item of b33.items) expect(text).not.toContain(item.fullName!);
      }
    });

    it('participant page: figures, cumulative hours and timeline are the API answers; auditors redraw them as of a date', async () => {
      const admin = await bearer('programme_admin');
      const { items } = await apiGet<{ items: Progress[] }>(
        `/v1/programmes/${P}/participants`,
        admin,
      );
      for (const item of items) {
        const page = await open(admin, `/dashboard/participants/${item.participantId}`);
        expect({
          verified: await value(page, 'p-verified'),
          pending: await value(page, 'p-pending'),
          expected: await value(page, 'p-expected'),
          pace: await value(page, 'p-pace'),
        }).toEqual({
          verified: String(item.verifiedHours.total),
          pending: String(item.pendingHours),
          expected: String(item.expectedHoursToDate),
          pace: item.pace,
        });
        const cumulative = await rows(page, 'cumulative-table');
        expect(cumulative.at(-1)?.[4] ?? '0').toBe(shown(item.verifiedHours.total));
        const timeline = await apiGet<{ items: unknown[] }>(
          `/v1/participants/${item.participantId}/timeline?limit=20`,
          admin,
        );
        await page.locator('#timeline li').first().waitFor();
        expect(await page.locator('#timeline li').count()).toBe(timeline.items.length);
        await screenshot(page, `participant-${item.pace}`);
        await expectAccessible(page, `participant page (${item.pace})`);
      }

      // The auditor's pickers: what the system showed at knownAt about asOf.
      const auditor = await bearer('auditor');
      const id = items[0]!.participantId;
      const page = await open(auditor, `/dashboard/participants/${id}`);
      // Known at: a minute after the cohort's last event was recorded, in the browser's time zone
      // (this machine's, like Node's here).
      const timeline = await apiGet<{ items: Array<{ recordedAt: string }> }>(
        `/v1/participants/${id}/timeline?limit=500`,
        auditor,
      );
      const known = new Date(Date.parse(timeline.items.at(-1)!.recordedAt) + 60_000);
      const pad = (n: number) => String(n).padStart(2, '0');
      await page.fill('#as-of', '2026-03-31');
      await page.fill(
        '#known-at',
        `${known.getFullYear()}-${pad(known.getMonth() + 1)}-${pad(known.getDate())}T${pad(known.getHours())}:${pad(known.getMinutes())}`,
      );
      await page.click('form.pickers button[type="submit"]');
      await page.locator('#as-of-note').waitFor();
      const params = new URL(page.url()).searchParams;
      expect(params.get('asOf')).toBe('2026-03-31');
      const past = await apiGet<Progress>(
        `/v1/participants/${id}/progress?asOf=2026-03-31&knownAt=${encodeURIComponent(params.get('knownAt')!)}`,
        auditor,
      );
      await page.locator('#status', { hasText: 'Consistent' }).waitFor();
      await expect(value(page, 'p-verified')).resolves.toBe(String(past.verifiedHours.total));
      await expect(value(page, 'p-pending')).resolves.toBe(String(past.pendingHours));
      await screenshot(page, 'participant-as-of');
      await expectAccessible(page, 'participant page as of a date');
    });

    it('live: a command sent through the API shows on an open overview within 2 s', async () => {
      const admin = await bearer('programme_admin');
      const staff = { authorization: await bearer('society_staff', 'B33') };
      const { items } = await apiGet<{ items: Progress[] }>(
        `/v1/programmes/${P}/participants`,
        admin,
      );
      const participant = `/v1/participants/${items[0]!.participantId}`;
      const { activityId } = await apiPost(`${participant}/activities`, staff, {
        pillar: 'professional',
        category: 'cross_disciplinary_exchange',
        title: 'Lab visit',
        occurredOn: '2026-06-10',
        hours: 4,
      });
      const page = await open(admin, '/dashboard');
      const before = Number(await value(page, 'kpi-hours'));
      const started = Date.now();
      const { position } = await apiPost(
        `${participant}/activities/${activityId!}/verification`,
        staff,
      );
      await page.waitForFunction(
        (expected) =>
          document.querySelector('#kpi-hours .value')?.getAttribute('data-value') === expected,
        String(before + 4),
        { timeout: 2000 },
      );
      expect(Date.now() - started).toBeLessThan(2000);
      const status = (await page.textContent('#status')) ?? '';
      expect(Number(/position (\d+)/.exec(status)?.[1])).toBeGreaterThanOrEqual(position);
      await expect(page.textContent('#live')).resolves.toBe('Live');
    });

    it('staff verify and reject from the participant page; the figures change; a stale page gets "changed meanwhile"', async () => {
      const staff = await bearer('society_staff', 'B33');
      const { items } = await apiGet<{ items: Progress[] }>(
        `/v1/programmes/${P}/participants`,
        staff,
      );
      const target = items.find((item) => item.pendingHours > 0)!;
      const url = `/v1/participants/${target.participantId}/progress`;
      const page = await open(staff, `/dashboard/participants/${target.participantId}`);
      await screenshot(page, 'participant-staff');
      await expectAccessible(page, 'participant page as staff');

      // Verify the first pending activity: its hours move from pending to verified.
      const first = page.locator('#pending tbody tr').first();
      const hours = Number(await first.locator('td.num').textContent());
      const decided = async (action: string, click: () => Promise<void>) => {
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url().endsWith(`/${action}`)),
          click(),
        ]);
        expect(response.status()).toBeLessThan(300);
        return ((await response.json()) as { position: number }).position;
      };
      const verifiedAt = await decided('verification', () =>
        first.locator('button.verify').click(),
      );
      await page.locator('#decision-message', { hasText: 'Verified.' }).waitFor();
      const verified = await apiGet<Progress>(`${url}?minPosition=${verifiedAt}`, staff);
      expect(verified.verifiedHours.total).toBe(target.verifiedHours.total + hours);
      expect(verified.pendingHours).toBe(target.pendingHours - hours);
      await page.waitForFunction(
        (expected) =>
          document.querySelector('#p-verified .value')?.getAttribute('data-value') === expected,
        String(verified.verifiedHours.total),
        { timeout: 2000 },
      );

      // A new activity shows up live; rejecting it needs a reason and takes it off pending.
      const { activityId } = await apiPost(
        `/v1/participants/${target.participantId}/activities`,
        { authorization: staff },
        {
          pillar: 'social',
          category: 'other_social',
          title: 'Community lecture',
          occurredOn: '2026-06-01',
          hours: 3,
        },
      );
      const row = page.locator(`#pending tr[data-activity="${activityId}"]`);
      await row.waitFor({ timeout: 2000 });
      await row.locator('button.reject').click();
      await page.locator('#decision-message', { hasText: 'Give a reason' }).waitFor();
      await row.locator('input').fill('No attendance record.');
      const rejectedAt = await decided('rejection', () => row.locator('button.reject').click());
      await page.locator('#decision-message', { hasText: 'Rejected.' }).waitFor();
      await row.waitFor({ state: 'detached', timeout: 2000 });
      expect((await apiGet<Progress>(`${url}?minPosition=${rejectedAt}`, staff)).pendingHours).toBe(
        verified.pendingHours,
      );

      // A page that did not hear of a change (its live stream cut) sends a stale If-Match.
      const log = (title: string, hours: number) =>
        apiPost(
          `/v1/participants/${target.participantId}/activities`,
          { authorization: staff },
          { pillar: 'social', category: 'other_social', title, occurredOn: '2026-06-02', hours },
        );
      await log('Science fair', 2);
      const stale = await open(
        staff,
        `/dashboard/participants/${target.participantId}`,
        WALL,
        async (p) => {
          // Only the live stream: the page still reads the position once to start.
          await p.route('**/changes*', (route) =>
            route.request().headers().accept?.includes('text/event-stream')
              ? route.abort()
              : route.continue(),
          );
        },
      );
      const { position: last } = await log('Poster session', 1);
      await stale.locator('#pending button.verify').first().click();
      await stale.locator('#decision-message', { hasText: 'changed meanwhile' }).waitFor();
      await screenshot(stale, 'participant-conflict');
      // Nothing was verified by the refused click.
      const after = await apiGet<Progress>(`${url}?minPosition=${last}`, staff);
      expect(after.verifiedHours.total).toBe(verified.verifiedHours.total);
      expect(after.pendingHours).toBe(verified.pendingHours + 3);
    });
  },
);
