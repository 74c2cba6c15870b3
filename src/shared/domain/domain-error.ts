/**
 * How a rejected command relates to the world, which the HTTP edge maps to a status:
 * `not_found` 404, `conflict` 409 (current state forbids it), `rule` 422 (a programme rule
 * forbids it), `invalid` 400 (the command itself is malformed).
 */
export type DomainErrorKind = 'not_found' | 'conflict' | 'rule' | 'invalid';

/** A command the domain refuses, with a stable code (e.g. `QUOTA_REACHED`) and a reason. */
export class DomainError extends Error {
  constructor(
    /** Stable machine-readable code. */
    readonly code: string,
    /** What kind of refusal this is. */
    readonly kind: DomainErrorKind,
    /** One sentence for a person, saying what is wrong and, where it helps, what to do. */
    message: string,
    /** Facts a client may use (e.g. `shortfallHours`). */
    readonly details: Readonly<Record<string, string | number | boolean | null>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Shorthands that keep deciders readable. */
export const notFound = (code: string, message: string, details?: DomainError['details']) =>
  new DomainError(code, 'not_found', message, details);
export const conflict = (code: string, message: string, details?: DomainError['details']) =>
  new DomainError(code, 'conflict', message, details);
export const ruleViolation = (code: string, message: string, details?: DomainError['details']) =>
  new DomainError(code, 'rule', message, details);
export const invalid = (code: string, message: string, details?: DomainError['details']) =>
  new DomainError(code, 'invalid', message, details);
