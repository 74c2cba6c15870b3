import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  EVENT_STORE,
  LOG,
  STORED_EVENT_LOG,
  type ChainProblem,
  type EventStore,
  type StoredEventLog,
} from '../event-sourcing';
import { ApiProblem } from '../shared/api-problem';
import type { Projection } from '../projections/projection';
import { SERVED_PROJECTIONS } from '../projections/projections.module';
import { READ_MODEL_STORE, type ReadModelStore } from '../projections/read-model-store';
import type { ReadModelProblem } from '../projections/verify-read-models';
import { Clock } from '../shared/clock';
import { runVerification, type VerificationReport } from './verification';

/** How many finished jobs are kept to be read back; older ones are forgotten (404). */
export const KEPT_FINISHED_JOBS = 20;

/** One thing a verification found: in the log, in a read model, or in the job itself. */
export type VerificationFinding =
  | ({ readonly source: 'log' } & ChainProblem)
  | ({ readonly source: 'readModels' } & ReadModelProblem)
  | { readonly source: 'job'; readonly problem: string };

/** What `GET /v1/audit/verifications/:id` answers. */
export type VerificationJobView = {
  readonly id: string;
  /** `failed` when anything was found, or when the job could not finish. */
  readonly status: 'running' | 'passed' | 'failed';
  readonly startedAt: string;
  readonly finishedAt?: string;
  /**
   * Events hashed plus events replayed; `total` is twice the log's head as it was when each
   * pass began (a read model that lags is replayed only as far as it has come).
   */
  readonly progress: { readonly done: number; readonly total: number };
  readonly findings: readonly VerificationFinding[];
  /** What was covered, once finished: events, streams, whether heads were compared, read models. */
  readonly checked?: {
    readonly events: number;
    readonly streams: number;
    readonly position: number;
    readonly headsChecked: boolean;
    readonly readModels: VerificationReport['readModels']['readModels'];
  };
};

type Job = {
  view: VerificationJobView;
  readonly abort: AbortController;
  done?: Promise<void>;
};

/**
 * Runs verifications off the request path, one at a time, and keeps their results in memory
 * (the running one and the last `KEPT_FINISHED_JOBS` finished). A verification replays the
 * whole log, ~45 s on a million events: inside a request it outlived client timeouts, and
 * calls at once each replayed everything. Jobs are per process; the CLI's `verify` is separate
 * and may run alongside (its scratch generations do not meet a job's).
 */
@Injectable()
export class VerificationJobs implements OnModuleDestroy {
  private readonly logger = new Logger('Verification');
  private running: Job | undefined;
  // Insertion order is finishing order, so the first key is the oldest.
  private readonly finished = new Map<string, Job>();

  constructor(
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(STORED_EVENT_LOG) private readonly stored: StoredEventLog,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(SERVED_PROJECTIONS) private readonly projections: ReadonlyArray<Projection<unknown>>,
  ) {}

  /** Starts a verification; a 409 problem naming the running one if there is one. */
  start(): VerificationJobView {
    if (this.running) {
      const runningId = this.running.view.id;
      throw new ApiProblem(
        409,
        'VERIFICATION_RUNNING',
        `Verification ${runningId} is still running; follow it at /v1/audit/verifications/${runningId}.`,
        {},
        { runningId },
      );
    }
    const job: Job = {
      view: {
        id: randomUUID(),
        status: 'running',
        startedAt: this.clock.now().toISOString(),
        progress: { done: 0, total: 0 },
        findings: [],
      },
      abort: new AbortController(),
    };
    this.running = job;
    // `run` settles the job whatever happens, so this promise never rejects.
    job.done = this.run(job);
    return job.view;
  }

  /** The job with this id, running or among the last finished; undefined otherwise. */
  get(id: string): VerificationJobView | undefined {
    if (this.running?.view.id === id) return this.running.view;
    return this.finished.get(id)?.view;
  }

  /** Stops a running job at its next page and waits for it to drop its scratch copies. */
  async onModuleDestroy(): Promise<void> {
    const job = this.running;
    if (!job) return;
    job.abort.abort(new Error('the service is shutting down'));
    await job.done;
  }

  private async run(job: Job): Promise<void> {
    let chainHead = 0;
    try {
      chainHead = await this.events.headPosition();
      job.view = { ...job.view, progress: { done: 0, total: 2 * chainHead } };
      const report = await runVerification(
        this.stored,
        this.events,
        this.readModels,
        this.projections,
        {
          now: () => this.clock.now(),
          signal: job.abort.signal,
          onProgress: ({ step, position, head }) => {
            // Until the replay starts, it is expected to go as far as the hash chains.
            if (step === 'hash chains') chainHead = head;
            job.view = {
              ...job.view,
              progress:
                step === 'hash chains'
                  ? { done: position, total: 2 * head }
                  : { done: chainHead + position, total: chainHead + head },
            };
          },
        },
      );
      const findings: VerificationFinding[] = [
        ...report.log.problems.map((problem) => ({ source: 'log' as const, ...problem })),
        ...(report.log.unlistedProblems > 0
          ? [
              {
                source: 'log' as const,
                streamName: LOG,
                revision: null,
                position: null,
                problem: `${report.log.unlistedProblems} more problems in the log were found beyond those listed`,
              },
            ]
          : []),
        ...report.readModels.problems.map((problem) => ({
          source: 'readModels' as const,
          ...problem,
        })),
      ];
      job.view = {
        ...job.view,
        status: report.ok ? 'passed' : 'failed',
        finishedAt: this.clock.now().toISOString(),
        progress: { done: job.view.progress.total, total: job.view.progress.total },
        findings,
        checked: {
          events: report.log.events,
          streams: report.log.streams,
          position: report.log.position,
          headsChecked: report.log.headsChecked,
          readModels: report.readModels.readModels,
        },
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Stopping for a shutdown is expected; anything else is a fault worth its stack.
      if (job.abort.signal.aborted)
        this.logger.warn(`Verification ${job.view.id} stopped: ${message}.`);
      else
        this.logger.error(
          `Verification ${job.view.id} stopped: ${error instanceof Error ? error.stack : message}`,
        );
      job.view = {
        ...job.view,
        status: 'failed',
        finishedAt: this.clock.now().toISOString(),
        findings: [
          ...job.view.findings,
          {
            source: 'job',
            problem: `the verification stopped before it finished (${message}): its result is unknown; run it again`,
          },
        ],
      };
    } finally {
      this.running = undefined;
      this.finished.set(job.view.id, job);
      if (this.finished.size > KEPT_FINISHED_JOBS)
        this.finished.delete(this.finished.keys().next().value!);
    }
  }
}
