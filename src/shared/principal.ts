/** The roles of docs/API.md, "Authentication". */
export const ROLES = [
  'applicant',
  'participant',
  'society_staff',
  'programme_admin',
  'auditor',
  'dashboard',
] as const;

/** A role a token may carry. */
export type Role = (typeof ROLES)[number];

/** A society code, as the DTOs and query filters accept it (e.g. B33). */
export const SOCIETY_CODE = /^[A-Z][A-Z0-9]{1,15}$/;

/**
 * Who is calling, from a verified token. Staff always carry the society they are scoped to and
 * nobody else carries one: a scope that could be absent would read as "no filter" wherever it is
 * applied, so staff with an empty society claim would see every society's applicants.
 */
export type Principal =
  | {
      /** The token's subject. */
      readonly sub: string;
      readonly role: 'society_staff';
      /** The society whose applicants and participants these staff may see. */
      readonly society: string;
      /** The caller's pseudonym (HMAC of `sub`), for students: set by the auth guard. */
      readonly subjectRef?: string;
    }
  | {
      /** The token's subject: for students, the `sub` that submitted the application ("self"). */
      readonly sub: string;
      readonly role: Exclude<Role, 'society_staff'>;
      readonly society: null;
      /** The caller's pseudonym (HMAC of `sub`), for students: set by the auth guard. */
      readonly subjectRef?: string;
    };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

// A plain boolean, not a type guard: a string can fail the test, so failing says nothing of type.
export function isSocietyCode(value: unknown): boolean {
  return typeof value === 'string' && SOCIETY_CODE.test(value);
}

/**
 * The principal for a role, subject and (for staff) society; throws when staff have no valid
 * society code. Any society given for another role is dropped, since it grants nothing there.
 */
export function principalOf(role: Role, sub: string, society: unknown): Principal {
  if (role !== 'society_staff') return { sub, role, society: null };
  if (typeof society !== 'string' || !isSocietyCode(society)) {
    throw new TypeError(
      `A society_staff principal needs a society code such as B33, not ${JSON.stringify(society) ?? 'none'}.`,
    );
  }
  return { sub, role, society };
}
