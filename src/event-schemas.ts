import { APPLICATION_EVENT_SCHEMAS } from './applications/domain/application';
import { SELECTION_EVENT_SCHEMAS } from './applications/domain/selection';
import { EventSchemaRegistry } from './event-sourcing';
import { PARTICIPANT_EVENT_SCHEMAS } from './participants/domain/participant';
import { DATA_SUBJECT_EVENT_SCHEMAS } from './privacy/domain/data-subject';
import { PROGRAMME_EVENT_SCHEMAS } from './programmes/domain/programme';

/**
 * The schema version of every event type and the upcasters from its older versions, each
 * declared beside its event's type and gathered here for the upcasting event store. Built on
 * import, so a gap in any type's chain of upcasters stops the service (and the CLI) at start-up.
 * An event type missing here cannot be written.
 */
export const EVENT_SCHEMAS = new EventSchemaRegistry({
  ...PROGRAMME_EVENT_SCHEMAS,
  ...APPLICATION_EVENT_SCHEMAS,
  ...SELECTION_EVENT_SCHEMAS,
  ...PARTICIPANT_EVENT_SCHEMAS,
  ...DATA_SUBJECT_EVENT_SCHEMAS,
});
