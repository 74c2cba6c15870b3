import { ValidateBy, type ValidationOptions, buildMessage } from 'class-validator';
import { isCalendarDate } from '../shared/domain/calendar';
import { hasLineBreakOrTab, malformedTextReason } from './text';

/** Metadata name of `@IsText` in class-validator's storage. */
const IS_TEXT = 'isText';

/**
 * A text field: a string of well-formed Unicode without control characters; tab and line
 * breaks only with `multiline` (reasons, notes, evidence). The body parser has already refused
 * malformed strings anywhere in a body; this says it per field, for query DTOs too, and adds
 * the single-line rule.
 */
export function IsText(
  options: { multiline?: boolean } = {},
  validationOptions?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_TEXT,
      constraints: [options.multiline === true],
      validator: {
        validate: (value: unknown, args) =>
          typeof value === 'string' &&
          malformedTextReason(value) === null &&
          (args?.constraints[0] === true || !hasLineBreakOrTab(value)),
        defaultMessage: buildMessage((each, args) => {
          const value: unknown = args?.value;
          if (typeof value !== 'string') return `${each}$property must be a string`;
          const reason = malformedTextReason(value);
          if (reason) return `${each}$property ${reason}`;
          return `${each}$property must be one line, without tabs or line breaks`;
        }),
      },
    },
    validationOptions,
  );
}

/** A real calendar date `YYYY-MM-DD` (no 2026-02-30, no 2026-11-99). */
export function IsCalendarDate(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCalendarDate',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isCalendarDate(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be a real calendar date YYYY-MM-DD, such as 2026-03-14`,
        ),
      },
    },
    validationOptions,
  );
}

const INSTANT =
  /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** True for a strict ISO 8601 instant with its offset on a real date (2026-07-15T08:00:00+08:00). */
export function isInstant(value: string): boolean {
  const match = INSTANT.exec(value);
  return match !== null && isCalendarDate(match[1]!);
}

/** A strict ISO 8601 instant with its offset, such as 2026-07-15T08:00:00+08:00. */
export function IsInstant(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInstant',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isInstant(value),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be an instant with its offset, such as 2026-07-15T08:00:00+08:00`,
        ),
      },
    },
    validationOptions,
  );
}
