import type { JsonObject, Upcaster } from '../../event-sourcing';

/**
 * The schema version of every event type that carries `subjectRef`, the pseudonym of the person
 * whose data the event holds: version 2 added it, when personal data began to be sealed under
 * that person's key (docs/privacy.md).
 */
export const SUBJECT_REF_VERSION = 2;

/**
 * Version 1 → 2 of an event type that gained `subjectRef`. An event written before personal
 * data was sealed has none: it reads as `subjectRef: null`, meaning "written before sealing; no
 * key covers its personal fields, which are stored in plain". Version 1 events that already
 * carry one (written after sealing began but before versions were stamped per type) keep it.
 */
export function subjectRefAdded<Type extends string>(type: Type): Upcaster<Type> {
  return {
    type,
    fromVersion: 1,
    toVersion: 2,
    upcast: (data: JsonObject): JsonObject =>
      typeof data.subjectRef === 'string' ? data : { ...data, subjectRef: null },
  };
}
