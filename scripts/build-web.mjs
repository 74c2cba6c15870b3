// Bundles the dashboard pages' script and styles (web/dashboard/) into dist/web/, with Chart.js
// inside: the service serves these files itself, so the pages work offline, with no CDN.
// Run by `npm run build` (so `npm start` has them) and by the tests' global set-up.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: {
    dashboard: join(root, 'web/dashboard/main.ts'),
    'dashboard-style': join(root, 'web/dashboard/style.css'),
  },
  outdir: join(root, 'dist/web'),
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  target: ['chrome109', 'firefox115', 'safari16'],
  legalComments: 'linked',
  logLevel: 'warning',
});
