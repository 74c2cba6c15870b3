import type { DomainEvent, JsonObject, JsonValue } from '../event';

/**
 * How one event type's data divides into personal and plain fields, declared next to the event's
 * schema. Paths name leaves: `fullName`, `eligibility.checks[].detail` (`[]`: every item of a
 * list). Every leaf of the data is in exactly one list; a test walks real events and fails on any
 * leaf that is in neither, so a new field cannot slip into the log unclassified.
 */
export type EventFieldClasses = {
  /** The data field holding the pseudonym (`subjectRef`) of the person the personal fields are about. */
  readonly subject?: string;
  /** Leaves that are personal data: stored sealed under the subject's key. */
  readonly personal?: readonly string[];
  /** Leaves that are not: stored as they are. */
  readonly plain: readonly string[];
};

/** The classification of every event type of a union, keyed by type (the compiler checks all are there). */
export type EventFieldPolicy<Event extends DomainEvent> = {
  readonly [Type in Event['type']]: EventFieldClasses;
};

/** Every event type the service writes, with its classes: what the sealing store consults. */
export type PersonalDataPolicy = Readonly<Record<string, EventFieldClasses>>;

/** An event type with no entry in the policy: refused rather than written with unknown contents. */
export class UndeclaredEventTypeError extends Error {
  constructor(readonly eventType: string) {
    super(
      `event type ${eventType} has no personal-data declaration: classify its fields (personal or plain) next to its schema`,
    );
  }
}

/** Splits a leaf path into steps: a key, or `[]` for every item of a list. */
function steps(path: string): string[] {
  return path
    .split('.')
    .flatMap((part) => (part.endsWith('[]') ? [part.slice(0, -2), '[]'] : [part]));
}

/**
 * A copy of `data` with every value at `path` replaced by `replace(value)` (absent and null
 * values are left alone: there is nothing personal in a missing value).
 */
export function mapAtPath(
  data: JsonValue,
  path: string,
  replace: (value: JsonValue) => JsonValue,
): JsonValue {
  const walk = (value: JsonValue, rest: readonly string[]): JsonValue => {
    if (value === null) return value;
    if (rest.length === 0) return replace(value);
    const [step, ...tail] = rest;
    if (step === '[]')
      return Array.isArray(value)
        ? (value as readonly JsonValue[]).map((item) => walk(item, tail))
        : value;
    if (typeof value !== 'object' || Array.isArray(value) || !(step! in value)) return value;
    const object = value as JsonObject;
    const child: JsonValue = object[step!] ?? null;
    return { ...object, [step!]: walk(child, tail) };
  };
  return walk(data, steps(path));
}

/** The non-null values at `path` (several where the path goes through lists), in order. */
export function valuesAtPath(data: JsonValue, path: string): JsonValue[] {
  const values: JsonValue[] = [];
  mapAtPath(data, path, (value) => {
    values.push(value);
    return value;
  });
  return values;
}

/** Every leaf path of `data` in the policy's notation (lists as `[]`), for the classification test. */
export function leafPaths(data: JsonValue, prefix = ''): Set<string> {
  const paths = new Set<string>();
  const visit = (value: JsonValue, path: string) => {
    if (Array.isArray(value)) {
      const items = value as readonly JsonValue[];
      for (const item of items) visit(item, `${path}[]`);
      if (items.length === 0) paths.add(`${path}[]`);
    } else if (value !== null && typeof value === 'object' && !('$sealed' in value)) {
      for (const [key, child] of Object.entries(value as JsonObject))
        visit(child, path ? `${path}.${key}` : key);
    } else paths.add(path);
  };
  visit(data, prefix);
  return paths;
}
