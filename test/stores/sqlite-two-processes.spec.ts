import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { computeEventHash } from '../../src/event-sourcing';

const run = promisify(execFile);

describe('SqliteEventStore: two processes on one file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'es-two-proc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lets each conflicting append win once, keeps positions gap-free and chains intact', async () => {
    const fileName = join(dir, 'events.sqlite');
    const rounds = 150;
    const contender = (label: string) =>
      run(
        process.execPath,
        [
          '-r',
          '@swc-node/register',
          join(__dirname, '../support/sqlite-contender.ts'),
          fileName,
          'contested-1',
          String(rounds),
          label,
        ],
        {
          cwd: join(__dirname, '../..'),
        },
      );
    const [a, b] = await Promise.all([contender('alpha'), contender('beta')]);
    const results = [a, b].map(
      (output) => JSON.parse(output.stdout) as { wins: number; conflicts: number },
    );

    const store = new SqliteEventStore({ fileName });
    try {
      const contested = await store.readStream('contested-1');
      const wins = results[0]!.wins + results[1]!.wins;
      expect(results[0]!.wins + results[0]!.conflicts).toBe(rounds);
      expect(results[1]!.wins + results[1]!.conflicts).toBe(rounds);
      expect(contested).toHaveLength(wins);
      expect(contested.map((event) => event.revision)).toEqual(
        Array.from({ length: wins }, (_, i) => i),
      );
      contested.forEach((event, i) => {
        expect(event.prevHash).toBe(i === 0 ? null : contested[i - 1]!.hash);
        expect(computeEventHash(event)).toBe(event.hash);
      });
      const all = await store.readAll(0, 10_000);
      expect(all).toHaveLength(wins + 2 * rounds);
      expect(all.map((event) => event.position)).toEqual(
        Array.from({ length: all.length }, (_, i) => i + 1),
      );
    } finally {
      await store.close();
    }
  }, 60_000);
});
