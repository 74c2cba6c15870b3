// Rebuilds every read model from DATA_DIR's events into a fresh read-model file, in its own
// process so that its peak memory is its own. Prints one JSON line: events, seconds, maxRssMb.
import { join } from 'node:path';
import { PROJECTIONS } from '../src/projections/projections.module';
import { rebuildProjections } from '../src/projections/projection-rebuild';
import { SqliteReadModelStore } from '../src/stores/read-models/sqlite-read-model-store';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';

async function main(): Promise<void> {
  const dataDir = process.argv[2]!;
  const events = new SqliteEventStore({ fileName: join(dataDir, 'events.sqlite') });
  const readModels = new SqliteReadModelStore(join(dataDir, 'read-models.sqlite'));
  const started = process.hrtime.bigint();
  const results = await rebuildProjections(events, readModels, PROJECTIONS);
  const applied = [...results.values()][0]?.applied ?? 0;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await readModels.close();
  await events.close();
  process.stdout.write(
    `${JSON.stringify({ events: applied, projections: PROJECTIONS.length, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
}

void main();
