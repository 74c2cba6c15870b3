import { type Command, Option } from 'commander';
import { EVENT_SCHEMAS } from '../event-schemas';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { rebuildProjections } from '../projections/projection-rebuild';
import { PROJECTIONS } from '../read-models';
import { createReadModelStore } from '../stores/read-model-store.module';
import { createEventStore } from '../stores/event-store.module';
import { EVENTS_FORMAT, progressBar } from './progress';

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
      const bar = progressBar(
        selected.map((projection) => projection.name).join(', '),
        EVENTS_FORMAT,
      );
      try {
        const started = Date.now();
        await rebuildProjections(events, readModels, selected, {
          onProgress: ({ position, head, applied }) => {
            const seconds = Math.max(0.001, (Date.now() - started) / 1000);
            // An empty log is rebuilt at once: show it done rather than stuck at 0 %.
            bar.update(head === 0 ? 1 : position, head, { speed: Math.round(applied / seconds) });
          },
        });
      } finally {
        bar.stop();
        await readModels.close();
        await events.close();
      }
      process.stdout.write('Read models rebuilt and switched.\n');
    });
}
