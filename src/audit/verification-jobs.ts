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
import { VERIFICATION_JOB_BOARD, type VerificationJobBoard } from './verification-job-board';

export { KEPT_FINISHED_JOBS } from './verification-job-board';

/** How often the instance running a job saves its progress on the board (its heartbeat). */
export const JOB_HEARTBEAT_MS = 2000;
/** A running job whose instance has not saved it for this long died with its instance. */
export const JOB_STALE_AFTER_MS = 15_000;

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

/** The finding of a job whose instance stopped saying anything about it. */
function abandoned(view: VerificationJobView, heartbeatAt: Date): VerificationJobView {
  return {
    ...view,
    status: 'failed',
    findings: [
      ...view.findings,
      {
        source: 'job',
        problem: `the instance running this verification stopped (its last word was at ${heartbeatAt.toISOString()}): its result is unknown; run it again`,
      },
    ],
  };
}

/**
 * Runs verifications off the request path, one at a time, and keeps their results in memory
 * (the running one and the last `KEPT_FINISHED_JOBS` finished). A verification replays the
 * whole log, ~45 s on a million events: inside a request it outlived client timeouts, and
 * calls at once each replayed everything. Jobs are posted on a board that every instance shares
 * when the read models are shared (see `VerificationJobBoard`), so any instance answers for a
 * job and one job runs at a time across the deployment; the CLI's `verify` is separate and may
 * run alongside (its scratch generations do not meet a job's).
 */
@Injectable()
export class VerificationJobs implements OnModuleDestroy {
  private readonly logger = new Logger('Verification');
  private running: Job | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(STORED_EVENT_LOG) private readonly stored: StoredEventLog,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(SERVED_PROJECTIONS) private readonly projections: ReadonlyArray<Projection<unknown>>,
    @Inject(VERIFICATION_JOB_BOARD)
    private readonly board: VerificationJobBoard<VerificationJobView>,
  ) {}

  // Saves a finished job, retrying a few times: its result is what the auditor came for.
  private async saveFinal(job: Job): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.board.save(job.view);
        return;
      } catch (error) {
        if (attempt >= 5) {
          this.logger.error(
            `Verification ${job.view.id} finished (${job.view.status}) but its result could not be saved: ${error instanceof Error ? error.message : String(error)}.`,
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /**
   * Starts a verification; a 409 problem naming the running one if one runs, on this instance or
   * on another of the deployment (the board is shared when the read models are).
   */
  async start(): Promise<VerificationJobView> {
    if (this.running) throw runningProblem(this.running.view.id);
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
    let claim;
    try {
      claim = await this.board.claim(job.view, JOB_STALE_AFTER_MS);
    } catch (error) {
      this.running = undefined;
      throw error;
    }
    if (claim.runningId !== undefined) {
      this.running = undefined;
      throw runningProblem(claim.runningId);
    }
    // `run` settles the job whatever happens, so this promise never rejects.
    job.done = this.run(job);
    return job.view;
  }

  /** The job with this id, running or among the last finished; undefined otherwise. */
  async get(id: string): Promise<VerificationJobView | undefined> {
    // A job that has just finished here is answered from the board once its result is saved
    // there, so that a GET saying "passed" is never followed by a 409 for the next start.
    if (this.running?.view.id === id && this.running.view.status === 'running')
      return this.running.view;
    const posted = await this.board.get(id);
    if (!posted) return undefined;
    const { view, heartbeatAt } = posted;
    if (view.status === 'running' && Date.now() - heartbeatAt.getTime() > JOB_STALE_AFTER_MS)
      return abandoned(view, heartbeatAt);
    return view;
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
    // The job's progress goes to the board every JOB_HEARTBEAT_MS, which also says it lives.
    const heartbeat = setInterval(() => {
      this.board.save(job.view).catch((error: unknown) => {
        this.logger.warn(
          `Verification ${job.view.id}: progress not saved (${error instanceof Error ? error.message : String(error)}).`,
        );
      });
    }, JOB_HEARTBEAT_MS);
    heartbeat.unref();
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
      clearInterval(heartbeat);
      // The result is kept on the board; should the board be away, this instance still answers.
      await this.saveFinal(job);
      this.running = undefined;
    }
  }
}

function runningProblem(runningId: string): ApiProblem {
  return new ApiProblem(
    409,
    'VERIFICATION_RUNNING',
    `Verification ${runningId} is still running; follow it at /v1/audit/verifications/${runningId}.`,
    {},
    { runningId },
  );
}
