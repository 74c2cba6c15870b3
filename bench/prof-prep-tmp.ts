import { prepareAppend, canonicalJson } from '../src/event-sourcing';
import { activityEvent } from './bench-kit';
const evs = Array.from({ length: 1000 }, (_, i) => [activityEvent(i)]);
for (let r = 0; r < 3; r++) {
  let t = process.hrtime.bigint();
  for (let k = 0; k < 100; k++) for (let i = 0; i < 1000; i++) prepareAppend(`p-${i}`, evs[i]!, 'any');
  console.log('prepare us', Number(process.hrtime.bigint() - t) / 1e5 / 1000);
  t = process.hrtime.bigint();
  for (let k = 0; k < 100; k++) for (let i = 0; i < 1000; i++) { canonicalJson(evs[i]![0]!.data); canonicalJson(evs[i]![0]!.metadata); }
  console.log('canon us', Number(process.hrtime.bigint() - t) / 1e5 / 1000);
  t = process.hrtime.bigint();
  for (let k = 0; k < 100; k++) for (let i = 0; i < 1000; i++) { Buffer.byteLength('{"activityId":"act-1","category":"cross_disciplinary_exchange","hours":3,"occurredOn":"2026-03-14","pillar":"political","title":"Rare-earth separation chemistry seminar"}' + i, 'utf8'); }
  console.log('bytelen us', Number(process.hrtime.bigint() - t) / 1e5 / 1000);
}
