import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
const dir = mkdtempSync(join(tmpdir(), 'ins-'));
for (const mode of ['single', 'multi']) {
  const db = new Database(join(dir, mode + '.sqlite'));
  db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_name TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at TEXT NOT NULL, prev_hash TEXT, hash TEXT NOT NULL, UNIQUE (stream_name, revision))`);
  const cols = '(position, event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash)';
  const one = db.prepare(`INSERT INTO events ${cols} VALUES (?,?,?,?,?,?,?,?,?,?)`);
  const fifty = db.prepare(`INSERT INTO events ${cols} VALUES ` + Array(50).fill('(?,?,?,?,?,?,?,?,?,?)').join(','));
  const N = 100000; let pos = 0;
  const row = (i: number) => [++pos, `${(1e12 + i).toString(16)}-0000-7000-8000-000000000000`, `p-${i % 2000}`, Math.floor(i / 2000), 'ActivityLogged', '{"activityId":"act-1","category":"cross_disciplinary_exchange","hours":3,"occurredOn":"2026-03-14","pillar":"political","title":"Rare-earth separation chemistry seminar"}', '{"actor":{"role":"participant","sub":"student-1"},"causationId":null,"correlationId":"6f1c2a52-8f7e-4c1e-9a57-0d6c4b0a9e11","schemaVersion":1}', '2026-11-27T00:00:00.000Z', 'ab'.repeat(32), 'cd'.repeat(32)];
  const t = process.hrtime.bigint();
  const tx = db.transaction((from: number) => { if (mode === 'single') { for (let i = from; i < from + 50; i++) one.run(row(i)); } else { const params: unknown[] = []; for (let i = from; i < from + 50; i++) params.push(...row(i)); fifty.run(params); } });
  for (let i = 0; i < N; i += 50) tx.immediate(i);
  console.log(mode, Math.round(N / (Number(process.hrtime.bigint() - t) / 1e9)));
}
