import { createHash } from 'node:crypto';
import { v7 as randomUUID } from 'uuid';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { activityEvent } from './bench-kit';
const dir = mkdtempSync(join(tmpdir(), 'profraw-'));
const db = new Database(join(dir, 'r.sqlite'), { timeout: 5000 });
db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_name TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at TEXT NOT NULL, prev_hash TEXT, hash TEXT NOT NULL, UNIQUE (stream_name, revision))`);
const head = db.prepare('SELECT revision, hash FROM events WHERE stream_name = ? ORDER BY revision DESC LIMIT 1');
const insert = db.prepare('INSERT INTO events (position, event_id, stream_name, revision, type, data, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const last = db.prepare('SELECT COALESCE(MAX(position), 0) AS position FROM events');
const begin = db.prepare('BEGIN IMMEDIATE'), commit = db.prepare('COMMIT');
const N = 40000, S = 2000, B = Number(process.argv[2] ?? 50);
let tc = 0n;
const t = Date.now();
for (let from = 0; from < N; from += B) {
  begin.run();
  let pos = (last.get() as { position: number }).position;
  for (let i = from; i < from + B; i++) { const s = `p-${i % S}-${i % 50}`; const c = head.get(s) as { revision: number; hash: string } | undefined; const e = activityEvent(i); const d = JSON.stringify(e.data); const h = createHash('sha256').update(d).update(c?.hash ?? '').digest('hex'); insert.run(++pos, randomUUID(), s, (c?.revision ?? -1) + 1, e.type, d, JSON.stringify(e.metadata), new Date().toISOString(), c?.hash ?? null, h); }
  const t1 = process.hrtime.bigint(); commit.run(); tc += process.hrtime.bigint() - t1;
}
console.log('raw manual batch', B, Math.round(N / ((Date.now() - t) / 1000)), 'commit ms', Number(tc / 1000000n));
