import { createHmac } from 'node:crypto';
import type { JsonObject, JsonValue, NewEvent } from '../event';
import type { SubjectKey, SubjectKeyStore } from './key-store';
import {
  mapAtPath,
  UndeclaredEventTypeError,
  valuesAtPath,
  type PersonalDataPolicy,
} from './policy';
import { isSealed, open, seal, sealedParts, type SealedParts, type SealedValue } from './sealed';

/** An event carries personal data but not the pseudonym of whom it is about. */
export class SubjectMissingError extends Error {
  constructor(
    readonly eventType: string,
    readonly subjectField: string,
  ) {
    super(
      `${eventType} carries personal data but no ${subjectField}: it was written before personal data was encrypted; run the encrypt-log migration (docs/privacy.md)`,
    );
  }
}

/** A sealed value names a subject the key store has neither a key nor a tombstone for. */
export class SubjectKeyMissingError extends Error {
  constructor(readonly subjectRef: string) {
    super(
      `the key store has no key for data subject ${subjectRef}: check that KEY_STORE points at the store that sealed this data`,
    );
  }
}

/** Options for the vault. */
export type VaultOptions = {
  /** How long a key read from the store may be reused from memory, in ms (default 30 s). */
  readonly keyCacheMs?: number;
  /** The clock for the cache; tests pass their own. */
  readonly now?: () => number;
};

/**
 * Seals personal fields before they are hashed and appended, opens them when an answer is given,
 * and erases a data subject by deleting its key. Keys stay in memory only for `keyCacheMs`; they
 * are never logged (no error message carries one).
 */
export class PersonalDataVault {
  private readonly cache = new Map<string, { readonly key: SubjectKey; readonly until: number }>();
  private readonly keyCacheMs: number;
  private readonly now: () => number;
  private secret: Buffer | undefined;
  private loading: Promise<void> | undefined;

  /**
   * A vault on a key store. It reads the pseudonym secret on first need (`ready`), so a service
   * whose key store is down still starts, and answers what needs no key.
   */
  constructor(
    private readonly keyStore: SubjectKeyStore,
    options: VaultOptions = {},
  ) {
    this.keyCacheMs = options.keyCacheMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** A vault whose secret is read (or on first start created) before it is returned. */
  static async open(
    keyStore: SubjectKeyStore,
    options: VaultOptions = {},
  ): Promise<PersonalDataVault> {
    const vault = new PersonalDataVault(keyStore, options);
    await vault.ready();
    return vault;
  }

  /** Reads the pseudonym secret once; a failed read is tried again on the next call. */
  ready(): Promise<void> {
    if (this.secret) return Promise.resolve();
    this.loading ??= this.keyStore.pseudonymSecret().then(
      (secret) => {
        this.secret = secret;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /**
   * The pseudonym of a `sub`: a keyed hash, stable for the deployment, not reversible without the
   * secret. Needs `ready()` to have resolved.
   */
  pseudonym(sub: string): string {
    if (!this.secret)
      throw new Error('the personal-data vault is not ready: await ready() before pseudonym()');
    return createHmac('sha256', this.secret).update(sub, 'utf8').digest('hex').slice(0, 32);
  }

  /**
   * The events with every personal field sealed under its subject's key (created on first use),
   * ready to be hashed and appended. Values that are already sealed (copied from an earlier event)
   * stay as they are. Refuses event types the policy does not declare.
   */
  async sealEvents(events: readonly NewEvent[], policy: PersonalDataPolicy): Promise<NewEvent[]> {
    const subjects = new Map<number, string>();
    events.forEach((event, index) => {
      const classes = policy[event.type];
      if (!classes) throw new UndeclaredEventTypeError(event.type);
      if (!classes.personal?.length || !classes.subject) return;
      const ref = event.data[classes.subject];
      if (typeof ref === 'string' && ref.length > 0) subjects.set(index, ref);
      else if (classes.personal.some((path) => valuesAtPath(event.data, path).length > 0))
        throw new SubjectMissingError(event.type, classes.subject);
    });
    if (subjects.size === 0) return [...events];
    const keys = await this.keysOf([...new Set(subjects.values())], true);
    return events.map((event, index) => {
      const ref = subjects.get(index);
      if (ref === undefined) return event;
      const key = keys.get(ref)!;
      let data: JsonValue = event.data;
      for (const path of policy[event.type]!.personal!) {
        data = mapAtPath(data, path, (value) => {
          if (isSealed(value)) {
            if (sealedParts(value).subjectRef !== ref)
              throw new TypeError(`${event.type}.${path} copies another subject's sealed value`);
            return value;
          }
          return seal(value, ref, path, key.state === 'live' ? key.key : null);
        });
      }
      return { ...event, data: data as JsonObject };
    });
  }

  /**
   * A copy of `value` (any JSON answer: a document, a page, an event) with every sealed value
   * opened; a value whose subject was erased becomes `null`, and the object holding it gets
   * `erased: true`. Everything else is returned as it is.
   */
  async unseal<T>(value: T): Promise<T> {
    const found: SealedParts[] = [];
    collect(value, found);
    if (found.length === 0) return value;
    const keys = await this.keysOf([...new Set(found.map((parts) => parts.subjectRef))], false);
    return openAll(value, (sealed) => {
      const parts = sealedParts(sealed);
      const key = keys.get(parts.subjectRef);
      if (key === undefined) throw new SubjectKeyMissingError(parts.subjectRef);
      if (key.state === 'erased' || !parts.cipher) return { erased: true };
      return { value: open({ ...parts, cipher: parts.cipher }, key.key) };
    }) as T;
  }

  /** Whether this subject has been erased (reads the store, not the cache). */
  async isErased(subjectRef: string): Promise<{ erasedAt: string } | undefined> {
    const key = (await this.keyStore.keys([subjectRef], false)).get(subjectRef);
    return key?.state === 'erased' ? { erasedAt: key.erasedAt } : undefined;
  }

  /** Deletes the subject's key for good (a tombstone remains) and makes the deletion durable. */
  async erase(subjectRef: string, erasedAt: string): Promise<{ erasedAt: string }> {
    this.cache.delete(subjectRef);
    const tombstone = await this.keyStore.erase(subjectRef, erasedAt);
    this.cache.delete(subjectRef);
    await this.keyStore.purgeDeleted();
    return tombstone;
  }

  private async keysOf(refs: readonly string[], create: boolean): Promise<Map<string, SubjectKey>> {
    const now = this.now();
    const keys = new Map<string, SubjectKey>();
    const missing: string[] = [];
    for (const ref of refs) {
      const cached = this.cache.get(ref);
      if (cached && cached.until > now) keys.set(ref, cached.key);
      else {
        if (cached) this.cache.delete(ref);
        missing.push(ref);
      }
    }
    if (missing.length > 0) {
      const loaded = await this.keyStore.keys(missing, create);
      for (const [ref, key] of loaded) {
        keys.set(ref, key);
        this.cache.set(ref, { key, until: now + this.keyCacheMs });
      }
    }
    return keys;
  }
}

function collect(value: unknown, into: SealedParts[]): void {
  if (Array.isArray(value)) for (const item of value) collect(item, into);
  else if (typeof value === 'object' && value !== null) {
    if (isSealed(value)) into.push(sealedParts(value));
    else for (const child of Object.values(value)) collect(child, into);
  }
}

type Opened = { readonly value: JsonValue } | { readonly erased: true };

function openAll(value: unknown, openOne: (sealed: SealedValue) => Opened): unknown {
  if (Array.isArray(value)) return value.map((item) => openAll(item, openOne));
  if (typeof value !== 'object' || value === null || isSealed(value)) return value;
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
    return value;
  let erased = false;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (isSealed(child)) {
      const opened = openOne(child);
      if ('erased' in opened) {
        copy[key] = null;
        erased = true;
      } else copy[key] = opened.value;
    } else copy[key] = openAll(child, openOne);
  }
  if (erased) copy.erased = true;
  return copy;
}
