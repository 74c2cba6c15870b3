import { APPLICATION_EVENT_FIELDS } from './applications/domain/application';
import { SELECTION_EVENT_FIELDS } from './applications/domain/selection';
import type { PersonalDataPolicy } from './event-sourcing';
import { PARTICIPANT_EVENT_FIELDS } from './participants/domain/participant';
import { DATA_SUBJECT_EVENT_FIELDS } from './privacy/domain/data-subject';
import { PROGRAMME_EVENT_FIELDS } from './programmes/domain/programme';

/**
 * Which fields of every event type are personal data, each declared beside its event's schema
 * and gathered here for the sealing event store. An event type missing here cannot be written.
 */
export const PERSONAL_DATA_POLICY: PersonalDataPolicy = {
  ...PROGRAMME_EVENT_FIELDS,
  ...APPLICATION_EVENT_FIELDS,
  ...SELECTION_EVENT_FIELDS,
  ...PARTICIPANT_EVENT_FIELDS,
  ...DATA_SUBJECT_EVENT_FIELDS,
};
