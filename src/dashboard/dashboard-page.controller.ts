import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.guard';
import { ApiProblem } from '../shared/api-problem';
import { AppConfig } from '../config/app-config';

/**
 * Where `npm run build` (scripts/build-web.mjs) writes the pages' bundled script and styles:
 * `dist/web/`, found from here whether this file runs compiled (dist/dashboard/) or as source
 * under the tests (src/dashboard/).
 */
const ASSETS = join(__dirname, '..', '..', 'dist', 'web');

/** The files a page may ask for, and their types; nothing else is read from disk. */
const TYPES: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.js.map': 'application/json; charset=utf-8',
  'dashboard-style.css': 'text/css; charset=utf-8',
  'dashboard-style.css.map': 'application/json; charset=utf-8',
  'dashboard.js.LEGAL.txt': 'text/plain; charset=utf-8',
};

/**
 * `GET /dashboard` (programme overview), `/dashboard/staff` (a society's participants) and
 * `/dashboard/participants/:id` (one participant; as-of pickers for auditors): one HTML shell
 * and one bundled script, which picks the view from the path. The pages hold no data: they ask
 * the API with the token pasted into them or given as `#token=` (kept in the tab's session
 * storage only), so the API's roles and society scoping apply unchanged, and follow
 * `GET /v1/programmes/:id/changes` to refetch when the read models move. Everything is served
 * from here: no CDN, so the pages work on an intranet without the internet.
 */
@Public()
@ApiExcludeController()
@Controller('dashboard')
export class DashboardPageController {
  private readonly files = new Map<string, Buffer>();
  private readonly page: string;
  private readonly policy: string;

  constructor(@Inject(AppConfig) config: AppConfig) {
    // With OIDC the page reads the provider's discovery document and token endpoint itself.
    const issuer =
      config.DASHBOARD_OIDC_CLIENT_ID !== undefined && config.AUTH_ISSUER !== undefined
        ? config.AUTH_ISSUER
        : undefined;
    const settings = {
      roleClaim: config.AUTH_JWKS_URL !== undefined ? config.AUTH_ROLE_CLAIM : 'role',
      societyClaim: config.AUTH_JWKS_URL !== undefined ? config.AUTH_SOCIETY_CLAIM : 'society',
      ...(issuer !== undefined
        ? { oidc: { issuer, clientId: config.DASHBOARD_OIDC_CLIENT_ID } }
        : {}),
    };
    this.page = PAGE.replace('{{settings}}', escapeAttribute(JSON.stringify(settings)));
    this.policy = contentSecurityPolicy(issuer !== undefined ? originOf(issuer) : undefined);
  }

  @Get(['', 'staff', 'participants/:participantId'])
  html(@Res() reply: FastifyReply): void {
    void reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', this.policy)
      .header('referrer-policy', 'no-referrer')
      .send(this.page);
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply): void {
    const type = TYPES[file];
    const content = type ? this.read(file) : undefined;
    if (!type || !content)
      throw new ApiProblem(
        404,
        'NOT_FOUND',
        type
          ? `The dashboard's ${file} is not built; run npm run build.`
          : `No dashboard file ${file}.`,
      );
    void reply
      .header('content-type', type)
      // Not hashed in their names: revalidated, cheaply, on each load.
      .header('cache-control', 'no-cache')
      .send(content);
  }

  private read(file: string): Buffer | undefined {
    let content = this.files.get(file);
    if (content) return content;
    try {
      content = readFileSync(join(ASSETS, file));
    } catch {
      return undefined;
    }
    this.files.set(file, content);
    return content;
  }
}

// The script talks to this origin only (and to the OIDC provider's, when there is one); Chart.js
// sets canvas sizes through element styles.
function contentSecurityPolicy(provider: string | undefined): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self'${provider ? ` ${provider}` : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function escapeAttribute(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<meta name="dashboard-settings" content="{{settings}}">
<title>Programme dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard-style.css">
<script src="/dashboard/assets/dashboard.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/dashboard">Talent programme</a>
  <nav id="nav" aria-label="Pages"></nav>
  <div class="account" id="account"></div>
</header>
<div class="statusbar">
  <span id="live" hidden></span>
  <span id="status" role="status" aria-live="polite"></span>
</div>
<main id="main" tabindex="-1"><p>Loading…</p><noscript>These pages need JavaScript.</noscript></main>
</body>
</html>
`;
