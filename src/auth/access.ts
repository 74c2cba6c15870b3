import type { Principal } from './principal';

/** The access rule shared by applications and participants. */
export function canSee(principal: Principal, ownerSub: string, societyCode: string): boolean {
  switch (principal.role) {
    case 'programme_admin':
    case 'auditor':
      return true;
    case 'society_staff':
      return principal.society === societyCode;
    case 'applicant':
    case 'participant':
      return principal.sub === ownerSub;
    case 'dashboard':
      return false;
  }
}
