/**
 * Architecture rules (docs/design.md): the event-sourcing core and every domain/
 * folder stay free of NestJS and of I/O; business slices import each other only through their
 * domain/ folders; and the top-level folders of src/ form layers that import downwards only,
 * so no two of them can ever depend on each other.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/**
 * The business slices. Each imports only its own folder, other slices' domain/ (types and pure
 * functions) and other slices' published read models (`queries/*.projection.ts`: a document
 * type, an index type and the pure functions that fold them), which typed queries name.
 */
const SLICES = [
  'programmes',
  'applications',
  'participants',
  'privacy',
  'audit',
  'dashboard',
  'health',
  'metrics',
];

/**
 * The layers, lowest first. A folder may import its own layer's folder and any lower layer,
 * never a higher one. Within the slices, the order is the order in which the domain builds on
 * itself: applications use programme rules, participants use both; audit, the dashboard,
 * health and metrics read what the others write, and privacy erases the people they hold. Top-level files (main, bootstrap, the app
 * module, the CLI, read-models) are the composition root and may import everything.
 */
const LAYERS = [
  ['event-sourcing'],
  ['shared'],
  ['config'],
  ['projections'],
  ['stores'],
  ['auth'],
  ['http'],
  ['logging'],
  ['programmes'],
  ['applications'],
  ['participants'],
  ['privacy', 'audit', 'dashboard', 'health', 'metrics'],
];

const notSpec = '\\.spec\\.ts$';

const layerRules = LAYERS.flatMap((layer, index) => {
  const higher = LAYERS.slice(index + 1).flat();
  if (higher.length === 0) return [];
  return layer.map((folder) => ({
    name: `layer-${folder}`,
    comment: `src/${folder} may not import ${higher.join(', ')}: the top-level folders of src/ import downwards only (no cycles between them).`,
    severity: 'error',
    from: { path: `^src/${folder}/`, pathNot: notSpec },
    to: { path: `^src/(${higher.join('|')})/` },
  }));
});

module.exports = {
  forbidden: [
    {
      name: 'core-without-framework-or-io',
      comment:
        'src/event-sourcing and domain/ folders are pure: no @nestjs, no database drivers, no fs/net.',
      severity: 'error',
      from: { path: '^src/(event-sourcing|.+/domain)/', pathNot: notSpec },
      to: {
        path: '(^|/)node_modules/(@nestjs|better-sqlite3|pg|@eventstore|fastify|jose)/|^(node:)?(fs|net|http|https|child_process|worker_threads)$',
      },
    },
    {
      name: 'core-depends-on-nothing-of-ours',
      comment: 'The core must not reach into adapters, Nest modules or business areas.',
      severity: 'error',
      from: { path: '^src/event-sourcing/', pathNot: notSpec },
      to: { path: '^src/', pathNot: '^src/event-sourcing/' },
    },
    {
      name: 'slices-through-domain-only',
      comment:
        "A business slice imports another slice's domain/ (types and pure functions) and published read models (queries/*.projection.ts) only: controllers, handlers, query code and DTOs stay inside their slice.",
      severity: 'error',
      from: { path: `^src/(${SLICES.join('|')})/`, pathNot: notSpec },
      to: {
        path: `^src/(${SLICES.join('|')})/`,
        pathNot: [
          '^src/$1/',
          `^src/(${SLICES.join('|')})/domain/`,
          `^src/(${SLICES.join('|')})/queries/[^/]+\\.projection\\.ts$`,
        ],
      },
    },
    {
      name: 'pages-apart-from-the-service',
      comment:
        'web/ is the browser script of the dashboard pages: it talks to the service over HTTP only, and the service serves its bundle without importing it.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(src|test|bench)/' },
    },
    {
      name: 'service-apart-from-the-pages',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^web/' },
    },
    {
      name: 'pages-browser-only',
      comment: 'The browser script may not use Node built-ins (it would not bundle for a browser).',
      severity: 'error',
      from: { path: '^web/' },
      to: { dependencyTypes: ['core'] },
    },
    ...layerRules,
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^dist/' },
  },
};
