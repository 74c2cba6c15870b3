import { type Command, InvalidArgumentError } from 'commander';
import { EVENT_SCHEMAS } from '../event-schemas';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { isInstant } from '../http/validators';
import { foldProjection } from '../projections/projection';
import { PROJECTIONS } from '../read-models';
import { createEventStore } from '../stores/event-store.module';
import { withVault } from './personal-data';

export function replayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'print the events of one stream (in their current shape, as every reader sees them) and the state the projections fold from them, optionally up to an instant',
    )
    .requiredOption('--stream <name>', 'stream name, e.g. participant-<id>')
    .option(
      '--until <timestamp>',
      'only events recorded at or before this instant (ISO 8601 with its offset)',
      (value) => {
        // The same strict instant as the API's knownAt: a date alone or a time without an offset
        // would be read in this machine's time zone, which an auditor did not choose.
        if (!isInstant(value))
          throw new InvalidArgumentError(
            'use an ISO 8601 instant with its offset, such as 2026-07-15T08:00:00+08:00',
          );
        return value;
      },
    )
    .action(async (options: { stream: string; until?: string }) => {
      const settings = loadConfigOrExit();
      const events = createEventStore(settings, EVENT_SCHEMAS);
      try {
        const until = options.until === undefined ? Infinity : Date.parse(options.until);
        const stream = (await events.readStream(options.stream)).filter(
          (event) => Date.parse(event.recordedAt) <= until,
        );
        await withVault(settings, async (vault) => {
          for (const event of await vault.unseal(stream)) {
            process.stdout.write(
              `#${event.revision}  position ${event.position}  ${event.recordedAt}  ${event.type}  by ${event.metadata.actor.role} ${event.metadata.actor.sub}\n    ${JSON.stringify(event.data)}\n`,
            );
          }
          process.stdout.write(`\n${stream.length} events. State folded by the projections:\n`);
          for (const projection of PROJECTIONS) {
            if (projection.createsOnly) continue;
            let folded: Map<string, unknown>;
            try {
              folded = foldProjection(projection, stream);
            } catch (error) {
              // Some read models need other streams too: the applications read model meets a
              // participant stream's enrolment without the application it enrols.
              process.stdout.write(
                `${projection.name}: not folded from this stream alone (${(error as Error).message})\n`,
              );
              continue;
            }
            for (const [key, doc] of folded)
              process.stdout.write(
                `${projection.name} ${key}:\n${JSON.stringify(await vault.unseal(doc), null, 2)}\n`,
              );
          }
        });
      } finally {
        await events.close();
      }
    });
}
