// Rebuilds read models from DATA_DIR's events into a fresh read-model file, in its own process
// so that its peak memory is its own. Prints one JSON line: events, seconds, maxRssMb.
//
//   projections-rebuild-child.ts DATA_DIR [all | read-only | NAME...]
//
// `read-only` reads and decodes the log the way a rebuild does and projects nothing: the floor
// under any rebuild on this machine. A list of names rebuilds only those read models.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECTIONS } from '../src/projections/projections.module';
import { rebuildProjections } from '../src/projections/projection-rebuild';
import { SqliteReadModelStore } from '../src/stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';

async function readOnly(events: SqliteEventStore): Promise<number> {
  let position = 0;
  let count = 0;
  for (;;) {
    const batch = await events.readAll(position, 5000);
    if (batch.length === 0) return count;
    count += batch.length;
    position = batch[batch.length - 1]!.position;
  }
}

async function main(): Promise<void> {
  const [dataDir, ...which] = process.argv.slice(2) as [string, ...string[]];
  const fileName = join(dataDir, 'read-models.sqlite');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${fileName}${suffix}`, { force: true });
  const events = new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') });
  const readModels = new SqliteReadModelStore(fileName);
  const selected =
    which.length === 0 || which[0] === 'all'
      ? PROJECTIONS
      : PROJECTIONS.filter((projection) => which.includes(projection.name));
  const started = process.hrtime.bigint();
  let applied: number;
  if (which[0] === 'read-only') applied = await readOnly(events);
  else {
    const results = await rebuildProjections(events, readModels, selected);
    applied = [...results.values()][0]?.applied ?? 0;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await readModels.close();
  await events.close();
  process.stdout.write(
    `${JSON.stringify({
      events: applied,
      projections: which[0] === 'read-only' ? 0 : selected.length,
      seconds,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

void main();
