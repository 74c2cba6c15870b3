// Rebuilds read models from DATA_DIR's events into a fresh read-model file, in its own process
// so that its peak memory is its own. Prints one JSON line: events, seconds, cpuSeconds (user +
// system time of the process over the same stretch: what neighbours on a shared machine do not
// inflate), maxRssMb, and readModelBytes (the read-model file once closed).
//
//   projections-rebuild-child.ts DATA_DIR [all | read-only | raw-insert | NAME...]
//
// `read-only` reads and decodes the log the way a rebuild does and projects nothing: the floor
// under any rebuild on this machine. `raw-insert` writes as many rows as the log has events,
// shaped like the timeline's (key participant/position, a 370-byte document), into the
// read-model table with plain better-sqlite3 in 5,000-row transactions, reading nothing: the
// floor under the timeline. A list of names rebuilds only those read models.
import { rmSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PROJECTIONS } from '../src/read-models';
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

function rawInsert(db: Database.Database, rows: number): number {
  const insert = db.prepare(
    "INSERT INTO rm_documents (projection, generation, key, idx, doc) VALUES ('raw', 1, ?, '{}', ?)",
  );
  const doc = JSON.stringify({ summary: 'x'.repeat(350) });
  const participants = Array.from({ length: Math.max(1, Math.round(rows / 96)) }, () =>
    randomUUID(),
  );
  const write = db.transaction((from: number, to: number) => {
    for (let position = from; position < to; position += 1) {
      const participant = participants[Math.floor(position / 96) % participants.length]!;
      insert.run(`${participant}/${String(position).padStart(16, '0')}`, doc);
    }
  });
  for (let from = 1; from <= rows; from += 5000) write(from, Math.min(rows + 1, from + 5000));
  return rows;
}

/** User + system CPU time since `from`, in seconds. */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1e6;
}

/** The read-model file's size with its WAL, if one is left. */
function bytesOf(fileName: string): number {
  let bytes = 0;
  for (const suffix of ['', '-wal']) {
    try {
      bytes += statSync(`${fileName}${suffix}`).size;
    } catch {
      // no such file
    }
  }
  return bytes;
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
  const cpuStarted = process.cpuUsage();
  let applied: number;
  if (which[0] === 'read-only') applied = await readOnly(events);
  else if (which[0] === 'raw-insert') {
    const rows = await events.headPosition();
    await readModels.close();
    const db = new Database(fileName);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    applied = rawInsert(db, rows);
    db.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuSeconds = cpuSecondsSince(cpuStarted);
    process.stdout.write(
      `${JSON.stringify({ events: applied, projections: 0, seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, readModelBytes: bytesOf(fileName) })}\n`,
    );
    await events.close();
    return;
  } else {
    const results = await rebuildProjections(events, readModels, selected);
    applied = [...results.values()][0]?.applied ?? 0;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuSeconds = cpuSecondsSince(cpuStarted);
  await readModels.close();
  await events.close();
  process.stdout.write(
    `${JSON.stringify({
      events: applied,
      projections: which[0] === 'read-only' ? 0 : selected.length,
      seconds,
      cpuSeconds,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      readModelBytes: bytesOf(fileName),
    })}\n`,
  );
}

void main();
