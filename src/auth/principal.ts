/** The roles of API.md, "Authentication". */
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

/** Who is calling, from a verified token. */
export type Principal = {
  /** The token's subject: for students, the `sub` that submitted the application ("self"). */
  readonly sub: string;
  readonly role: Role;
  /** The society code, for `society_staff`. */
  readonly society: string | null;
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
