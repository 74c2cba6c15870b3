import {
  verifyChains,
  type ChainReport,
  type EventStore,
  type StoredEventLog,
} from '../event-sourcing';
import type { Projection } from '../projections/projection';
import type { ReadModelStore } from '../projections/read-model-store';
import { verifyReadModels, type ReadModelReport } from '../projections/verify-read-models';

/** What a verification job (`POST /v1/audit/verifications`) and `cli verify` report. */
export type VerificationReport = {
  /** True when neither the log nor any read model showed a problem. */
  readonly ok: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Every stream's hash chain and head, every event's hash. */
  readonly log: ChainReport;
  /** Every read model against a fresh replay of the log. */
  readonly readModels: ReadModelReport;
};

/** Which step a verification is at, and how far. */
export type VerificationProgress = {
  readonly step: 'hash chains' | 'read models';
  readonly position: number;
  readonly head: number;
};

/**
 * Verifies the hash chains, then the read models; changes nothing that is served. The chains
 * are checked on the log as stored (`stored`), the read models against a replay of the same
 * log in its current shape (`events`, as the projections read it).
 */
export async function runVerification(
  stored: StoredEventLog,
  events: EventStore,
  readModels: ReadModelStore,
  projections: ReadonlyArray<Projection<unknown>>,
  options: {
    now?: () => Date;
    onProgress?: (progress: VerificationProgress) => void;
    /** Stops the verification between two pages; it then rejects with the signal's reason. */
    signal?: AbortSignal;
  } = {},
): Promise<VerificationReport> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const log = await verifyChains(stored, {
    signal: options.signal,
    onProgress: ({ position, head }) =>
      options.onProgress?.({ step: 'hash chains', position, head }),
  });
  const readModelReport = await verifyReadModels(events, readModels, projections, {
    signal: options.signal,
    onProgress: ({ position, head }) =>
      options.onProgress?.({ step: 'read models', position, head }),
  });
  return {
    ok: log.problems.length === 0 && readModelReport.problems.length === 0,
    startedAt,
    finishedAt: now().toISOString(),
    log,
    readModels: readModelReport,
  };
}
