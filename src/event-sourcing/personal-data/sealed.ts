import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JsonValue } from '../event';

/**
 * A personal value as events and read models hold it: AES-256-GCM ciphertext under the data
 * subject's key, never the value itself. The text is `pd1:<subjectRef>:<field>:<iv>:<ciphertext>`
 * (base64url; the 16-byte tag ends the ciphertext), or `pd1:<subjectRef>:<field>:erased` when the
 * subject had been erased before the value was written. The subject and field are the cipher's
 * associated data, so a ciphertext cannot be passed off as another person's or another field's.
 */
export type SealedValue = { readonly $sealed: string };

/** A field that holds personal data: the value when written, sealed once stored. */
export type Personal<T> = T | SealedValue;

const PREFIX = 'pd1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Whether a JSON value is a sealed personal value. */
export function isSealed(value: unknown): value is SealedValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const sealed = (value as { $sealed?: unknown }).$sealed;
  return (
    typeof sealed === 'string' && sealed.startsWith(`${PREFIX}:`) && Object.keys(value).length === 1
  );
}

/** The parts of a sealed value's text. */
export type SealedParts = {
  readonly subjectRef: string;
  readonly field: string;
  /** Absent when the value was written after the subject's erasure. */
  readonly cipher?: { readonly iv: Buffer; readonly ciphertext: Buffer };
};

/** A sealed value this version cannot read: corrupted, or written by another scheme. */
export class MalformedSealedValueError extends Error {
  constructor(text: string) {
    super(`not a sealed value this service wrote: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** Splits a sealed value's text; `MalformedSealedValueError` when it is not one. */
export function sealedParts(value: SealedValue): SealedParts {
  const parts = value.$sealed.split(':');
  const [prefix, subjectRef, field] = parts;
  if (prefix !== PREFIX || !subjectRef || !field)
    throw new MalformedSealedValueError(value.$sealed);
  if (parts.length === 4 && parts[3] === 'erased') return { subjectRef, field };
  if (parts.length !== 5) throw new MalformedSealedValueError(value.$sealed);
  const iv = Buffer.from(parts[3]!, 'base64url');
  const ciphertext = Buffer.from(parts[4]!, 'base64url');
  if (iv.length !== IV_BYTES || ciphertext.length < TAG_BYTES)
    throw new MalformedSealedValueError(value.$sealed);
  return { subjectRef, field, cipher: { iv, ciphertext } };
}

function associatedData(subjectRef: string, field: string): Buffer {
  return Buffer.from(`${PREFIX}:${subjectRef}:${field}`, 'utf8');
}

/**
 * Seals one value (any JSON: text, a date, a list) for a subject and field with a fresh random IV.
 * `key` null: the subject is erased, and the value is recorded as erased rather than readable.
 */
export function seal(
  value: JsonValue,
  subjectRef: string,
  field: string,
  key: Buffer | null,
): SealedValue {
  if (subjectRef.includes(':') || field.includes(':'))
    throw new TypeError(`subjectRef and field may not contain ":" (${subjectRef}, ${field})`);
  if (key === null) return { $sealed: `${PREFIX}:${subjectRef}:${field}:erased` };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(subjectRef, field));
  const body = Buffer.concat([
    cipher.update(JSON.stringify(value), 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return {
    $sealed: `${PREFIX}:${subjectRef}:${field}:${iv.toString('base64url')}:${body.toString('base64url')}`,
  };
}

/** A sealed value whose ciphertext does not authenticate under its subject's key. */
export class SealedValueTamperedError extends Error {
  constructor(subjectRef: string, field: string) {
    super(
      `the sealed ${field} of subject ${subjectRef} does not decrypt with that subject's key: it was altered, or the key store is not the one that sealed it`,
    );
  }
}

/** Opens a sealed value with its subject's key; `SealedValueTamperedError` when it does not authenticate. */
export function open(
  parts: SealedParts & { cipher: NonNullable<SealedParts['cipher']> },
  key: Buffer,
): JsonValue {
  const { iv, ciphertext } = parts.cipher;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(parts.subjectRef, parts.field));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([
      decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as JsonValue;
  } catch {
    throw new SealedValueTamperedError(parts.subjectRef, parts.field);
  }
}
