/**
 * Architecture rules: the event-sourcing core and every domain/ folder stay free of NestJS and
 * of I/O, so they can be tested and reused without either.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'core-without-framework-or-io',
      comment:
        'src/event-sourcing and domain/ folders are pure: no @nestjs, no database drivers, no fs/net.',
      severity: 'error',
      from: { path: '^src/(event-sourcing|.+/domain)/', pathNot: '\\.spec\\.ts$' },
      to: {
        path: '(^|/)node_modules/(@nestjs|better-sqlite3|pg|@eventstore|fastify|jose)/|^(node:)?(fs|net|http|https|child_process|worker_threads)$',
      },
    },
    {
      name: 'core-depends-on-nothing-of-ours',
      comment: 'The core must not reach into adapters, Nest modules or business areas.',
      severity: 'error',
      from: { path: '^src/event-sourcing/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^src/', pathNot: '^src/event-sourcing/' },
    },
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
