import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '../..');

/**
 * The short fault suite (docs/reliability.md, "Fault suite"): a few kill -9 of the service under load on SQLite
 * and on PostgreSQL, poison events, and the failover of two instances on one PostgreSQL (kill -9
 * of the one leading the read models), as `npm run faults` runs them at a small FAULTS_SCALE.
 * No acknowledged event may be lost or written twice; the survivor of a failover takes the read
 * models over within LEADER_TAKEOVER_MS, every instance's read models reach the log head, and
 * `verify` passes.
 */
describe('fault suite (short)', () => {
  it('kills and poison lose and duplicate no acknowledged event', async () => {
    const { stdout } = await run(
      process.execPath,
      ['-r', '@swc-node/register', join(root, 'bench/faults/faults.ts')],
      {
        cwd: root,
        env: {
          ...process.env,
          FAULTS_SCALE: '0.1',
          FAULTS_KINDS: 'kill_sqlite,kill_postgres,poison,failover',
          FAULTS_TAKEOVER_MS: '2000',
          FAULTS_CLIENTS: '4',
          FAULTS_VERIFY_EVERY: '0',
        },
        timeout: 280_000,
        maxBuffer: 16 << 20,
      },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run faults failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    const figure = (name: string) => {
      const match = new RegExp(`^bench: faults\\.${name} (\\d+) `, 'm').exec(stdout);
      if (!match) throw new Error(`no "bench: faults.${name}" line in:\n${stdout}`);
      return Number(match[1]);
    };
    for (const kind of ['kill_sqlite', 'kill_postgres', 'poison', 'failover']) {
      expect({ kind, lost: figure(`${kind}.lost`) }).toEqual({ kind, lost: 0 });
      expect({ kind, duplicated: figure(`${kind}.duplicated`) }).toEqual({ kind, duplicated: 0 });
      expect(figure(`${kind}.injections`)).toBeGreaterThan(0);
      expect(figure(`${kind}.acknowledged`)).toBeGreaterThan(0);
    }
    expect(figure('failover.takeover_max')).toBeLessThanOrEqual(2000);
    expect(figure('failover.instances_at_head')).toBe(2);
    expect(figure('failover.verify_failures')).toBe(0);
  }, 300_000);
});
