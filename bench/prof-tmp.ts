import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../src/stores/sqlite/sqlite-event-store';
import { activityEvent } from './bench-kit';
async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'prof-'));
  const store = new SqliteEventStore({ fileName: join(dir, 'e.sqlite') });
  const N = Number(process.env.N ?? 40000), S = 2000;
  const mode = process.argv[2];
  const t = Date.now();
  if (mode === 'seq') {
    const rev = new Map<string, number>();
    for (let i = 0; i < N; i++) { const s = `p-${i % S}`; const r = await store.append(s, [activityEvent(i)], { expectedRevision: rev.get(s) ?? 'no_stream' }); rev.set(s, r.nextRevision); }
  } else {
    await Promise.all(Array.from({ length: 50 }, async (_, c) => { const rev = new Map<string, number>(); for (let i = c; i < N; i += 50) { const s = `p-${i % S}-${c}`; const r = await store.append(s, [activityEvent(i)], { expectedRevision: rev.get(s) ?? 'no_stream' }); rev.set(s, r.nextRevision); } }));
  }
  console.log(mode, Math.round(N / ((Date.now() - t) / 1000)), 'events/s');
  await store.close();
}
void main();
// instrumentation
const proto = SqliteEventStore.prototype as unknown as { writeBatch: (b: unknown[]) => unknown };
const orig = proto.writeBatch;
let inside = 0n, batches = 0, items = 0;
proto.writeBatch = function (this: unknown, b: unknown[]) { const t = process.hrtime.bigint(); const r = orig.call(this, b); inside += process.hrtime.bigint() - t; batches++; items += b.length; return r; };
process.on('exit', () => console.log('inside ms', Number(inside / 1000000n), 'batches', batches, 'avg', (items / batches).toFixed(1)));
