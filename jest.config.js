// NestJS 12 ships ESM only. Jest (before Node 24.9) cannot require() ESM, so @swc/jest
// compiles both our TypeScript and the ESM inside node_modules to CommonJS.
/** @type {import('jest').Config} */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: [
    '**/*.spec.ts',
    '**/*.e2e-spec.ts',
    '**/*.contract-spec.ts',
    '**/*.property-spec.ts',
    '**/*.fuzz-spec.ts',
    '**/*.fault-spec.ts',
  ],
  transform: { '^.+\\.(t|j|mj)sx?$': ['@swc/jest', swc] },
  // Everything is compiled except google-protobuf (used by @eventstore/db-client), whose UMD
  // wrapper relies on a top-level `this` that the CommonJS transform would break.
  transformIgnorePatterns: ['/node_modules/google-protobuf/'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 30000,
  // Exit once the results are in. On 2026-12-01 a clean-clone CI run finished every suite and the
  // global teardown, then never exited: the process sat in Node's exit-time handle clean-up
  // (node::Environment::CleanupHandles, seen with gdb) with @swc/core 1.16's native threads still
  // waiting, and nothing of ours open (no sockets, no children). It does not happen on every run,
  // and a CI that hangs lands nothing. To look for leaks of our own, run
  // `npx jest --detectOpenHandles --no-forceExit`.
  forceExit: true,
};
