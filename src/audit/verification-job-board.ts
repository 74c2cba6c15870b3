/** What the board needs of a job's view (the jobs' own view type fills it in). */
export type JobView = { readonly id: string; readonly status: string };

/** How many finished jobs are kept to be read back; older ones are forgotten (404). */
export const KEPT_FINISHED_JOBS = 20;

/** A job as the board holds it: its last saved view, and when its runner last spoke. */
export type PostedJob<V extends JobView = JobView> = {
  readonly view: V;
  readonly heartbeatAt: Date;
};

/**
 * Where verification jobs are posted, so that every instance of a deployment answers for every
 * job and refuses a second one while one runs anywhere. The instance running a job saves its
 * view every few seconds; a running job whose runner has been silent for longer than
 * `staleAfterMs` is taken to have died with its instance.
 */
export interface VerificationJobBoard<V extends JobView = JobView> {
  /**
   * Posts `view` (a running job) unless another job runs with a runner heard from within
   * `staleAfterMs`; then answers that job's id.
   */
  claim(view: V, staleAfterMs: number): Promise<{ runningId?: string }>;
  /** Saves the job's view, and notes that its runner is alive. */
  save(view: V): Promise<void>;
  /** The job with this id, running or among the last `KEPT_FINISHED_JOBS` finished. */
  get(id: string): Promise<PostedJob<V> | undefined>;
  close(): Promise<void>;
}

/** Injection token of the board. */
export const VERIFICATION_JOB_BOARD = Symbol('VerificationJobBoard');

/** The board of one instance (read models in SQLite: one instance). */
export class InMemoryJobBoard<V extends JobView = JobView> implements VerificationJobBoard<V> {
  // Insertion order is posting order, so the first finished key is the oldest.
  private readonly jobs = new Map<string, { view: V; heartbeatAt: number }>();

  claim(view: V, staleAfterMs: number): Promise<{ runningId?: string }> {
    const now = Date.now();
    for (const [id, job] of this.jobs)
      if (job.view.status === 'running' && now - job.heartbeatAt <= staleAfterMs)
        return Promise.resolve({ runningId: id });
    this.jobs.set(view.id, { view, heartbeatAt: now });
    return Promise.resolve({});
  }

  save(view: V): Promise<void> {
    this.jobs.set(view.id, { view, heartbeatAt: Date.now() });
    const finished = [...this.jobs].filter(([, job]) => job.view.status !== 'running');
    for (const [id] of finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED_JOBS)))
      this.jobs.delete(id);
    return Promise.resolve();
  }

  get(id: string): Promise<PostedJob<V> | undefined> {
    const job = this.jobs.get(id);
    return Promise.resolve(job && { view: job.view, heartbeatAt: new Date(job.heartbeatAt) });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
