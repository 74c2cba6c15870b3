import type { Command } from 'commander';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import type { AppConfig } from '../config/app-config';
import { EVENT_SCHEMAS } from '../event-schemas';
import type { RecordedEvent, StoredEventLog } from '../event-sourcing';
import { createEventStore } from '../stores/event-store.module';
import { withVault } from './personal-data';
import { progressBar } from './progress';

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'write events with their hashes as NDJSON to stdout, in position order, in their current shape; personal fields opened (null with erased: true once erased)',
    )
    .option('--stream <name>', 'only this stream (in revision order)')
    .option(
      '--sealed',
      'write events exactly as stored (personal fields as ciphertext, each in the schema version it was written in): the form the hashes cover, for re-hashing elsewhere',
    )
    .action(async (options: { stream?: string; sealed?: boolean }) => {
      const settings = loadConfigOrExit();
      await withVault(settings, (vault) =>
        exportEvents(settings, options, (events) =>
          options.sealed ? Promise.resolve(events) : vault.unseal(events),
        ),
      );
    });
}

async function exportEvents(
  settings: AppConfig,
  options: { stream?: string; sealed?: boolean },
  open: (events: RecordedEvent[]) => Promise<RecordedEvent[]>,
): Promise<void> {
  const store = createEventStore(settings, EVENT_SCHEMAS);
  // --sealed is for re-hashing: the events as stored. Otherwise as every reader sees them.
  const events: Pick<StoredEventLog, 'readStream' | 'readAll' | 'headPosition'> = options.sealed
    ? store.stored
    : store;
  // Waits for the pipe to drain, so a large log streams instead of piling up in memory.
  const write = (line: string) =>
    new Promise<void>((resolve) => {
      if (process.stdout.write(line)) resolve();
      else process.stdout.once('drain', resolve);
    });
  try {
    if (options.stream) {
      for (const event of await open(await events.readStream(options.stream)))
        await write(`${JSON.stringify(event)}\n`);
      return;
    }
    const head = await events.headPosition();
    const bar = progressBar('export');
    let position = 0;
    for (;;) {
      const batch = await events.readAll(position, 5000);
      if (batch.length === 0) break;
      for (const event of await open(batch)) await write(`${JSON.stringify(event)}\n`);
      position = batch[batch.length - 1]!.position;
      bar.update(position, head);
    }
    bar.stop();
  } finally {
    await store.close();
  }
}
