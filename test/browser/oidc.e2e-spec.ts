import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startDemoApp, type DemoApp } from '../support/demo-app';
import { startFakeOidc, type FakeOidc } from '../support/fake-oidc';

/**
 * The dashboard's sign-in with an OpenID Connect provider (DASHBOARD_OIDC_CLIENT_ID): the page
 * offers a link instead of the token form, runs the authorization code flow with PKCE against
 * the provider's discovered endpoints, keeps the access token in session storage and comes back
 * to the page it started from, under the page's own Content-Security-Policy (not bypassed).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);

(HAVE_CHROMIUM ? describe : describe.skip)(
  `dashboard sign-in with an OIDC provider, in Chromium${HAVE_CHROMIUM ? '' : ` — skipped: no ${CHROMIUM}`}`,
  () => {
    let provider: FakeOidc;
    let app: DemoApp;
    let browser: Browser;
    beforeAll(async () => {
      provider = await startFakeOidc({ clientId: 'dashboard-pages', audience: 'progress-api' });
      [app, browser] = await Promise.all([
        startDemoApp('sqlite', {
          AUTH_JWKS_URL: provider.jwksUrl,
          AUTH_ISSUER: provider.issuer,
          AUTH_AUDIENCE: 'progress-api',
          DASHBOARD_OIDC_CLIENT_ID: 'dashboard-pages',
        }),
        chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true }),
      ]);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await provider?.close();
    });

    it('signs in through the provider with PKCE and returns to the page it started from', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(5000);
      try {
        const page = await context.newPage();
        await page.goto(`${app.base}/dashboard/staff`);
        const link = page.locator('#oidc-sign-in');
        await link.waitFor();
        // The token form is still there for operators, folded away.
        await expect(page.locator('details #token').isVisible()).resolves.toBe(false);
        await link.click();
        await page.locator('#status', { hasText: 'Consistent through position' }).waitFor();
        expect(new URL(page.url()).pathname).toBe('/dashboard/staff');
        expect(new URL(page.url()).search).toBe('');
        expect(provider.refused).toEqual([]);
        const stored = await page.evaluate(() => sessionStorage.getItem('dashboard.token'));
        const claims = JSON.parse(Buffer.from(stored!.split('.')[1]!, 'base64url').toString());
        expect(claims).toMatchObject({ iss: provider.issuer, role: 'programme_admin' });
        // The provider's token reads the API: the demo cohort's two participants.
        await expect(page.locator('#participants tbody tr').count()).resolves.toBe(2);
        await expect(page.textContent('header .who')).resolves.toBe('programme admin');
      } finally {
        await context.close();
      }
    });
  },
);
