import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '../event-sourcing';
import { ApiProblem } from '../shared/api-problem';
import { ProjectionRunner } from './projection-runner';

/** How long a query waits for `minPosition` before answering 503. */
const READ_YOUR_WRITES_TIMEOUT_MS = 5000;

/** Read-your-writes for queries: waits until the read models have applied a position. */
@Injectable()
export class ReadYourWrites {
  constructor(
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  /**
   * `minPosition` on the raw log (audit): resolves once the log holds `position`, which another
   * instance may have appended a moment ago; 503 with Retry-After after 5 s.
   */
  async logHolds(position: number | undefined): Promise<void> {
    if (position === undefined) return;
    const deadline = Date.now() + READ_YOUR_WRITES_TIMEOUT_MS;
    for (;;) {
      const head = await this.events.headPosition();
      if (head >= position) return;
      if (Date.now() >= deadline)
        throw new ApiProblem(
          503,
          'NOT_YET_RECORDED',
          `The log holds positions up to ${head}, not yet ${position}; retry shortly.`,
          { 'retry-after': '5' },
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Resolves once every read model has passed `position`; 503 with Retry-After after 5 s. */
  async reach(position: number | undefined): Promise<void> {
    if (position === undefined) return;
    if (await this.runner.waitFor(position, READ_YOUR_WRITES_TIMEOUT_MS)) return;
    throw new ApiProblem(
      503,
      'NOT_YET_PROJECTED',
      `The read models have not reached position ${position} yet (they are at ${this.runner.position}); retry shortly.`,
      { 'retry-after': '5' },
    );
  }
}
