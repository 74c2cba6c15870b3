import { type Command, Option } from 'commander';
import { EVENT_SCHEMAS } from '../event-schemas';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { type RebuildProgress, rebuildProjections } from '../projections/projection-rebuild';
import { PROJECTIONS } from '../read-models';
import { createLockingLeadership, createReadModelStore } from '../stores/read-model-store.module';
import { createEventStore } from '../stores/event-store.module';
import { EVENTS_FORMAT, progressBar } from './progress';

/** A progress bar for a rebuild of the read models named `label`, with its events per second. */
export function rebuildBar(label: string): {
  readonly onProgress: (progress: RebuildProgress) => void;
  stop(): void;
} {
  const bar = progressBar(label, EVENTS_FORMAT);
  const started = Date.now();
  return {
    onProgress: ({ position, head, applied }) => {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      // An empty log is rebuilt at once: show it done rather than stuck at 0 %.
      bar.update(head === 0 ? 1 : position, head, { speed: Math.round(applied / seconds) });
    },
    stop: () => bar.stop(),
  };
}

export function rebuildCommand(program: Command): void {
  program
    .command('rebuild')
    .description(
      'rebuild read models from the events into new tables, then switch to them (no downtime)',
    )
    .addOption(
      new Option('--projection <name>', 'only this read model').choices(
        PROJECTIONS.map((projection) => projection.name),
      ),
    )
    .action(async (options: { projection?: string }) => {
      const settings = loadConfigOrExit();
      const events = createEventStore(settings, EVENT_SCHEMAS);
      const readModels = createReadModelStore(settings);
      const selected = PROJECTIONS.filter(
        (projection) => !options.projection || projection.name === options.projection,
      );
      // Holds each read model's rebuild lock: two rebuilds of one read model never overlap.
      const leadership = createLockingLeadership(settings);
      const bar = rebuildBar(selected.map((projection) => projection.name).join(', '));
      try {
        await rebuildProjections(events, readModels, selected, {
          onProgress: bar.onProgress,
          leadership,
        });
      } finally {
        bar.stop();
        await leadership.close();
        await readModels.close();
        await events.close();
      }
      process.stdout.write('Read models rebuilt and switched.\n');
    });
}
