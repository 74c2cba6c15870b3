import { ApiProblem } from '../shared/api-problem';
import type { Principal } from '../shared/principal';

/**
 * Whose an application or participant is: the student's pseudonym, or, in records written before
 * personal data was sealed (`subjectRef` null), their plain `sub`.
 */
export type Owner = { readonly subjectRef: string | null; readonly sub?: unknown };

/** Whether the caller is the student who owns the record ("self"). */
function isOwner(principal: Principal, owner: Owner): boolean {
  if (owner.subjectRef !== null) return principal.subjectRef === owner.subjectRef;
  // Written before sealing: the `sub` is stored in plain (a sealed one never equals a string).
  return typeof owner.sub === 'string' && owner.sub === principal.sub;
}

/** The access rule shared by applications and participants. */
export function canSee(principal: Principal, owner: Owner, societyCode: string): boolean {
  switch (principal.role) {
    case 'programme_admin':
    case 'auditor':
      return true;
    case 'society_staff':
      return principal.society === societyCode;
    case 'applicant':
    case 'participant':
      return isOwner(principal, owner);
    case 'dashboard':
      return false;
  }
}

/**
 * The society a list or aggregate covers: staff always their own (asking for another is refused
 * rather than answered empty), everyone else the one asked for, or all when none is. Callers
 * test the result with `!== undefined`, never for truthiness, so no value can widen the scope.
 */
export function scopedSociety(
  principal: Principal,
  requested: string | undefined,
): string | undefined {
  if (principal.role !== 'society_staff') return requested;
  if (requested !== undefined && requested !== principal.society) {
    throw new ApiProblem(
      403,
      'FORBIDDEN',
      `Staff of ${principal.society} see their own society only.`,
    );
  }
  return principal.society;
}

/** The read-model filter for a society scope: all societies only when there is none. */
export function societyFilter(society: string | undefined): { societyCode?: string } {
  return society !== undefined ? { societyCode: society } : {};
}
