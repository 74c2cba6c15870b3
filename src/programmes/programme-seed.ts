import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type EventStore, handleCommand } from '../event-sourcing';
import { EVENT_STORE } from '../event-sourcing';
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

const RETRY_MS = 5000;

/**
 * Seeds the 2025 programme on every start (idempotent), so a fresh install is usable at once.
 * A store that does not answer yet does not stop the service (readiness reports it); the seed
 * is retried every few seconds until it succeeds.
 */
@Injectable()
export class ProgrammeSeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Seed');
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.attempt();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    try {
      if (await seedProgrammes(this.store))
        this.logger.log(`Defined programme ${DTDP_2025.programmeId}`);
    } catch (error) {
      this.logger.warn(
        `Could not seed ${DTDP_2025.programmeId} yet (${(error as Error).message}); retrying in ${RETRY_MS / 1000} s.`,
      );
      this.timer = setTimeout(() => void this.attempt(), RETRY_MS);
      this.timer.unref();
    }
  }
}
