import type { ApplicationEvent } from '../applications/domain/application';
import {
  type EventFieldClasses,
  type EventStore,
  type ExpectedRevision,
  type JsonObject,
  type NewEvent,
  type PersonalDataPolicy,
  type PersonalDataVault,
  type RecordedEvent,
  type SubjectKeyStoreCopy,
  SealingEventStore,
  isSealed,
  valuesAtPath,
} from '../event-sourcing';
import type { ParticipantEvent } from '../participants/domain/participant';

/** Where one event of the old log went in the new one: the rows of the mapping report. */
export type EventMapping = {
  readonly eventId: string;
  readonly streamName: string;
  readonly revision: number;
  readonly oldPosition: number;
  readonly newPosition: number;
  readonly oldHash: string;
  readonly newHash: string;
};

/** What a migration did, for the report and the operator. */
export type LogEncryptionSummary = {
  /** Events copied (all of them). */
  readonly events: number;
  /** Streams copied. */
  readonly streams: number;
  /** Distinct data subjects (pseudonyms) the new log names. */
  readonly subjects: number;
  /** Personal values that were plaintext in the old log and are sealed in the new one. */
  readonly sealedFields: number;
  /** Personal values already sealed in the old log (written after the upgrade), copied as they were. */
  readonly alreadySealedFields: number;
  /** Events that got the `subjectRef` their type now declares. */
  readonly subjectRefsAdded: number;
  /** Events already in today's shape (they carried their `subjectRef`), copied as they were. */
  readonly copiedAsIs: number;
  /** Events whose student actor was written as their pseudonym. */
  readonly actorsPseudonymised: number;
  /** The last position read from the old log, and the new log's last position. */
  readonly oldHead: number;
  readonly newHead: number;
};

/** The old log cannot be migrated as it stands: names the event and what is wrong with it. */
export class LogEncryptionError extends Error {}

/** Options for `encryptLog`. */
export type LogEncryptionOptions = {
  /** The old log (read only). */
  readonly source: EventStore;
  /** The new, empty log: the raw adapter, which the migration wraps in a `SealingEventStore`. */
  readonly target: EventStore;
  /** The personal-data vault over the new log's key store. */
  readonly vault: PersonalDataVault;
  readonly policy: PersonalDataPolicy;
  /** Roles whose actors are students, written as their pseudonym (as the service does). */
  readonly studentRoles: ReadonlySet<string>;
  /** Called for every event, in the old log's order, once it is written and checked. */
  readonly onMapped: (mapping: EventMapping) => void | Promise<void>;
  readonly onProgress?: (position: number, head: number) => void;
  /** Events read from the old log at a time; default 500. */
  readonly pageSize?: number;
};

// The events that name their student by `sub` in logs from before sealing; the compiler checks
// that these are still event types of ours.
const SUBMITTED: ApplicationEvent['type'] = 'ApplicationSubmitted';
const ENROLLED: Extract<ParticipantEvent['type'], 'ParticipantEnrolled'> = 'ParticipantEnrolled';

// Most events in one append: runs of one stream (usually the events of one command) go together.
const MAX_RUN = 100;

/**
 * Copies the old log into the new one, in position order, the way the service writes today:
 * each event with personal fields gets the `subjectRef` of its student (from `applicantSub` or
 * `participantSub`, or the application or participant it is about), its personal fields are
 * sealed and student actors pseudonymised by a `SealingEventStore` over the new log; events
 * that already carry their `subjectRef` are copied as they are. Event ids, streams, revisions,
 * types, `recordedAt` and metadata (but the student actor) are kept; hashes and positions are
 * new. Every event is read back and checked (same id, stream, revision and recordedAt; every
 * personal value sealed and opening with the new keys) before it is reported.
 */
export async function encryptLog(options: LogEncryptionOptions): Promise<LogEncryptionSummary> {
  const { source, target, vault, policy } = options;
  const pageSize = options.pageSize ?? 500;
  // Old events: their student actors are still plain; copied events: already pseudonyms.
  const sealing = new SealingEventStore(target, vault, policy, options.studentRoles);
  const copying = new SealingEventStore(target, vault, policy);
  const subjects = new Subjects(vault);
  const counts = {
    events: 0,
    streams: 0,
    sealedFields: 0,
    alreadySealedFields: 0,
    subjectRefsAdded: 0,
    copiedAsIs: 0,
    actorsPseudonymised: 0,
  };
  const head = await source.headPosition();
  let oldPosition = 0;
  let newPosition = await target.headPosition();
  if (newPosition !== 0) throw new LogEncryptionError('the new log is not empty');

  for (;;) {
    const page = await source.readAll(oldPosition, pageSize);
    if (page.length === 0) break;
    const planned = page.map((event) => plan(event, policy, subjects, options.studentRoles));
    for (const run of runs(planned)) {
      const first = run[0]!.old;
      const expectedRevision: ExpectedRevision =
        first.revision === 0 ? 'no_stream' : first.revision - 1;
      const store = run[0]!.pseudonymiseActor ? sealing : copying;
      const result = await store
        .append(
          first.streamName,
          run.map((step) => step.next),
          { expectedRevision },
        )
        .catch((error: unknown) => {
          throw new LogEncryptionError(
            `${describe(first)} could not be written to the new log: ${(error as Error).message}`,
            { cause: error },
          );
        });
      if (result.nextRevision !== run[run.length - 1]!.old.revision)
        throw new LogEncryptionError(`${describe(first)} was written at another revision`);
    }
    const written = await target.readAll(newPosition, page.length);
    for (const [index, step] of planned.entries()) {
      const stored = written[index];
      if (!stored) throw new LogEncryptionError(`${describe(step.old)} is missing in the new log`);
      await check(step.old, stored, policy, vault);
      counts.events += 1;
      if (step.old.revision === 0) counts.streams += 1;
      counts.sealedFields += step.plainValues;
      counts.alreadySealedFields += step.sealedValues;
      if (step.subjectRefAdded) counts.subjectRefsAdded += 1;
      if (step.copiedAsIs) counts.copiedAsIs += 1;
      if (step.pseudonymiseActor && options.studentRoles.has(step.old.metadata.actor.role))
        counts.actorsPseudonymised += 1;
      await options.onMapped({
        eventId: step.old.eventId,
        streamName: step.old.streamName,
        revision: step.old.revision,
        oldPosition: step.old.position,
        newPosition: stored.position,
        oldHash: step.old.hash,
        newHash: stored.hash,
      });
    }
    oldPosition = page[page.length - 1]!.position;
    newPosition = written[written.length - 1]!.position;
    options.onProgress?.(oldPosition, head);
  }
  const sourceHead = await source.headPosition();
  if (sourceHead > oldPosition)
    throw new LogEncryptionError(
      `the old log grew while it was copied (now at position ${sourceHead}, copied up to ${oldPosition}): stop the service, then migrate again into a new, empty target`,
    );
  return {
    ...counts,
    subjects: subjects.count,
    oldHead: oldPosition,
    newHead: newPosition,
  };
}

/**
 * Copies a key store's pseudonym secret, keys and tombstones into the new, empty one, so that
 * the new log's pseudonyms are those the old store made (students stay "self"), values sealed
 * after the upgrade open, and erased students stay erased. Returns how many subjects it copied.
 */
export async function copySubjectKeys(
  from: SubjectKeyStoreCopy,
  into: SubjectKeyStoreCopy,
): Promise<number> {
  const secret = await from.existingPseudonymSecret();
  if (secret) await into.adoptPseudonymSecret(secret);
  let copied = 0;
  let after = '';
  for (;;) {
    const entries = await from.readEntries(after, 1000);
    if (entries.length === 0) return copied;
    if (!secret)
      throw new LogEncryptionError(
        'the old key store holds keys but no pseudonym secret: it is damaged; restore it from a backup',
      );
    await into.importEntries(entries);
    copied += entries.length;
    after = entries[entries.length - 1]!.subjectRef;
  }
}

/** One event of the old log and what is appended for it. */
type Step = {
  readonly old: RecordedEvent;
  readonly next: NewEvent;
  /** Whether the event's student actor is still a plain `sub` to be replaced by its pseudonym. */
  readonly pseudonymiseActor: boolean;
  readonly copiedAsIs: boolean;
  readonly subjectRefAdded: boolean;
  readonly plainValues: number;
  readonly sealedValues: number;
};

/** The field holding an event type's subject: declared, or (events without personal fields) listed plain. */
function subjectField(classes: EventFieldClasses): string | undefined {
  return classes.subject ?? (classes.plain.includes('subjectRef') ? 'subjectRef' : undefined);
}

function plan(
  event: RecordedEvent,
  policy: PersonalDataPolicy,
  subjects: Subjects,
  studentRoles: ReadonlySet<string>,
): Step {
  const classes = policy[event.type];
  if (!classes)
    throw new LogEncryptionError(
      `${describe(event)}: event type ${event.type} has no personal-data declaration in this version; migrate with the version that wrote it, or declare it`,
    );
  const field = subjectField(classes);
  const carried = field === undefined ? undefined : event.data[field];
  const copiedAsIs = typeof carried === 'string' && carried.length > 0;
  let data: JsonObject = event.data;
  let subjectRef: string | undefined;
  if (copiedAsIs) subjectRef = carried;
  else if (field !== undefined) {
    subjectRef = subjects.resolve(event);
    if (subjectRef === undefined)
      throw new LogEncryptionError(
        `${describe(event)}: no data subject found for this ${event.type} (its application or participant is not earlier in the log); check the old log with verify`,
      );
    data = { ...event.data, [field]: subjectRef };
  }
  if (subjectRef !== undefined) subjects.register(event, subjectRef);
  const { actor } = event.metadata;
  // An event type that cannot carry a subjectRef may still have been written after the upgrade:
  // a student actor who is a known pseudonym is one already.
  const actorIsPseudonym = studentRoles.has(actor.role) && subjects.isPseudonym(actor.sub);
  const values = (classes.personal ?? []).flatMap((path) => valuesAtPath(event.data, path));
  const sealedValues = values.filter((value) => isSealed(value)).length;
  return {
    old: event,
    next: {
      eventId: event.eventId,
      type: event.type,
      data,
      metadata: event.metadata,
      recordedAt: event.recordedAt,
    },
    pseudonymiseActor: !copiedAsIs && !actorIsPseudonym,
    copiedAsIs,
    subjectRefAdded: !copiedAsIs && field !== undefined,
    plainValues: values.length - sealedValues,
    sealedValues,
  };
}

/** Consecutive steps of one stream, with consecutive revisions, written the same way. */
function* runs(steps: readonly Step[]): Generator<Step[]> {
  let run: Step[] = [];
  for (const step of steps) {
    const last = run[run.length - 1];
    if (
      last &&
      (last.old.streamName !== step.old.streamName ||
        last.old.revision + 1 !== step.old.revision ||
        last.pseudonymiseActor !== step.pseudonymiseActor ||
        run.length >= MAX_RUN)
    ) {
      yield run;
      run = [];
    }
    run.push(step);
  }
  if (run.length > 0) yield run;
}

/** Checks a written event against its original: the same event, every personal value sealed and opening. */
async function check(
  old: RecordedEvent,
  stored: RecordedEvent,
  policy: PersonalDataPolicy,
  vault: PersonalDataVault,
): Promise<void> {
  const same =
    stored.eventId === old.eventId &&
    stored.streamName === old.streamName &&
    stored.revision === old.revision &&
    stored.type === old.type &&
    stored.recordedAt === old.recordedAt;
  if (!same)
    throw new LogEncryptionError(
      `${describe(old)} was written as ${stored.eventId} in ${stored.streamName} revision ${stored.revision} at ${stored.recordedAt}: another writer uses the new log?`,
    );
  for (const path of policy[stored.type]?.personal ?? []) {
    if (valuesAtPath(stored.data, path).some((value) => !isSealed(value)))
      throw new LogEncryptionError(`${describe(old)}: ${path} was written unsealed`);
  }
  // Throws when a value does not open with the new key store: the keys were not all copied.
  await vault.unseal(stored.data).catch((error: unknown) => {
    throw new LogEncryptionError(`${describe(old)}: ${(error as Error).message}`, {
      cause: error,
    });
  });
}

function describe(event: RecordedEvent): string {
  return `${event.type} at position ${event.position} (${event.streamName} revision ${event.revision})`;
}

/** The data subjects seen so far: by application and participant, and every pseudonym. */
class Subjects {
  private readonly byApplication = new Map<string, string>();
  private readonly byParticipant = new Map<string, string>();
  private readonly pseudonyms = new Set<string>();

  constructor(private readonly vault: PersonalDataVault) {}

  get count(): number {
    return this.pseudonyms.size;
  }

  isPseudonym(sub: string): boolean {
    return this.pseudonyms.has(sub);
  }

  /** The subject of an event written before sealing: its student's `sub`, or its record's subject. */
  resolve(event: RecordedEvent): string | undefined {
    const { data } = event;
    if (event.type === SUBMITTED && typeof data.applicantSub === 'string')
      return this.vault.pseudonym(data.applicantSub);
    if (event.type === ENROLLED && typeof data.participantSub === 'string')
      return this.vault.pseudonym(data.participantSub);
    if (event.type !== ENROLLED && typeof data.participantId === 'string')
      return this.byParticipant.get(data.participantId);
    if (typeof data.applicationId === 'string') return this.byApplication.get(data.applicationId);
    return undefined;
  }

  register(event: RecordedEvent, subjectRef: string): void {
    this.pseudonyms.add(subjectRef);
    const { data } = event;
    if (event.type === SUBMITTED && typeof data.applicationId === 'string')
      this.byApplication.set(data.applicationId, subjectRef);
    if (event.type === ENROLLED && typeof data.participantId === 'string')
      this.byParticipant.set(data.participantId, subjectRef);
  }
}
