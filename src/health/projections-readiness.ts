import type { ProjectionStatus } from '../projections/projection-runner';

/**
 * How long a projection may retry a transient failure before readiness fails. A blip (a
 * PostgreSQL restart, a lock) must not take every instance out of service at once; a store that
 * stays away must.
 */
export const RETRY_GRACE_MS = 5000;

/**
 * Why the projections keep the service from being ready, in a line, or undefined when they run:
 * a projection retrying a failure that will not pass by itself, or a transient one for longer
 * than `graceMs`. Dead letters do not count: the projection goes on past them.
 */
export function projectionsTrouble(
  status: ReadonlyMap<string, ProjectionStatus>,
  now: number,
  graceMs = RETRY_GRACE_MS,
): string | undefined {
  const troubles: string[] = [];
  for (const [name, { retrying }] of status) {
    if (!retrying) continue;
    if (retrying.kind === 'transient' && now - retrying.since.getTime() <= graceMs) continue;
    troubles.push(
      `${name} failing since ${retrying.since.toISOString()} (${retrying.attempts} attempts): ${retrying.lastError}`,
    );
  }
  return troubles.length > 0 ? troubles.join('; ') : undefined;
}
