import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type EventStore, handleCommand } from '../event-sourcing';
import { EVENT_STORE } from '../stores/event-store.module';
import { commandContext, eventMetadata } from '../shared/command-context';
import { DTDP_2025, programmeDecider, programmeStream } from './domain/programme';

/** Defines the 2025 programme; does nothing when it is already defined. Returns true if it wrote. */
export async function seedProgrammes(store: EventStore): Promise<boolean> {
  const context = commandContext({ sub: 'system:seed', role: 'programme_admin', society: null });
  const result = await handleCommand(
    store,
    programmeStream(DTDP_2025.programmeId),
    programmeDecider,
    { type: 'DefineProgramme', rules: DTDP_2025 },
    { metadata: eventMetadata(context) },
  );
  return result.events.length > 0;
}

/** Seeds the 2025 programme on every start (idempotent), so a fresh install is usable at once. */
@Injectable()
export class ProgrammeSeed implements OnApplicationBootstrap {
  private readonly logger = new Logger('Seed');

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async onApplicationBootstrap(): Promise<void> {
    if (await seedProgrammes(this.store))
      this.logger.log(`Defined programme ${DTDP_2025.programmeId}`);
  }
}
