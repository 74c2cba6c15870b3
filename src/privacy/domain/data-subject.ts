import type { DomainEvent, EventFieldPolicy, EventSchemaPolicy } from '../../event-sourcing';

/** The stream of one data subject, named by pseudonym: where their erasure is recorded. */
export const dataSubjectStream = (subjectRef: string) => `data-subject-${subjectRef}`;

/** Events of a data-subject stream. */
export type DataSubjectEvent = DomainEvent<
  'PersonalDataErased',
  {
    /** The pseudonym of the person erased: never their `sub`. */
    readonly subjectRef: string;
    /** Why (a request under PIPL Art. 47 / GDPR Art. 17, the end of retention...). */
    readonly reason: string;
    /** When the key was deleted. */
    readonly erasedAt: string;
  }
>;

/**
 * The erasure record holds no personal data: the pseudonym, the staff member's reason (docs ask
 * staff not to quote the person in it) and the time.
 */
export const DATA_SUBJECT_EVENT_FIELDS: EventFieldPolicy<DataSubjectEvent> = {
  PersonalDataErased: { plain: ['subjectRef', 'reason', 'erasedAt'] },
};

/** The schema version of the erasure record (docs/design.md, "Schema versions and upcasting"). */
export const DATA_SUBJECT_EVENT_SCHEMAS: EventSchemaPolicy<DataSubjectEvent> = {
  PersonalDataErased: { version: 1 },
};

/** Commands of a data-subject stream. */
export type DataSubjectCommand = {
  readonly type: 'RecordErasure';
  readonly subjectRef: string;
  readonly reason: string;
  readonly erasedAt: string;
};

/** Whether the subject's erasure is recorded. */
export type DataSubjectState = { readonly erased: boolean };

export const dataSubjectDecider = {
  initialState: (): DataSubjectState => ({ erased: false }),
  evolve: (_state: DataSubjectState, event: DataSubjectEvent): DataSubjectState => {
    switch (event.type) {
      case 'PersonalDataErased':
        return { erased: true };
    }
  },
  decide: (command: DataSubjectCommand, state: DataSubjectState): DataSubjectEvent[] => {
    switch (command.type) {
      case 'RecordErasure':
        // Erasing someone already erased changes nothing.
        if (state.erased) return [];
        return [
          {
            type: 'PersonalDataErased',
            data: {
              subjectRef: command.subjectRef,
              reason: command.reason,
              erasedAt: command.erasedAt,
            },
          },
        ];
    }
  },
};
