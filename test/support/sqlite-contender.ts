// Run as a separate process by the two-process SQLite test: appends to a contested stream with
// the revision it read, the way a command handler does, and reports wins and conflicts.
import { SqliteEventStore } from '../../src/stores/sqlite/sqlite-event-store';
import { WrongExpectedRevisionError } from '../../src/event-sourcing';
import { testEvent } from './events';

async function main(): Promise<void> {
  const [fileName, stream, rounds, label] = process.argv.slice(2) as [
    string,
    string,
    string,
    string,
  ];
  const store = new SqliteEventStore({ fileName });
  let wins = 0;
  let conflicts = 0;
  for (let round = 0; round < Number(rounds); round += 1) {
    const head = await store
      .readStream(stream, { direction: 'backwards', maxCount: 1 })
      .catch(() => []);
    const expectedRevision = head[0] ? head[0].revision : 'no_stream';
    try {
      await store.append(stream, [testEvent('Contended', { label, round })], { expectedRevision });
      wins += 1;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      conflicts += 1;
    }
    await store.append(`${label}-own`, [testEvent('Own', { round })]);
  }
  await store.close();
  process.stdout.write(JSON.stringify({ wins, conflicts }));
}

main().catch((error: unknown) => {
  process.stderr.write(String(error instanceof Error ? error.stack : error));
  process.exit(1);
});
