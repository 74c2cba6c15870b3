import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Loads a package from bench/peers, installing the peers there first if they are missing. They
 * live apart from the project's dependencies because sqlite3 (Emmett's driver) compiles from
 * source, about half of a fresh `npm ci`, and only the event-store benchmark needs them.
 */
export function requirePeer(name: string): unknown {
  const require = createRequire(join(__dirname, 'package.json'));
  const load = (): unknown => {
    // sqlite3 first: loading it loads its native binding, so a half-finished install fails here.
    require('sqlite3');
    return require(name);
  };
  try {
    return load();
  } catch {
    process.stderr.write(
      'Installing the benchmark peers into bench/peers (Emmett and sqlite3, which compiles for a few minutes)...\n',
    );
  }
  // `npm ci` from the committed lock, so every run compares with the same Emmett; its output goes
  // to stderr, keeping stdout for the figures.
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: __dirname,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (result.status !== 0)
    throw new Error(
      'Could not install the benchmark peers in bench/peers: see the npm output above.',
    );
  return load();
}
