import { InvalidStreamNameError } from './errors';

/** Longest accepted stream name, in characters. */
export const MAX_STREAM_NAME_LENGTH = 200;

// Letters, digits and `-_.:@`; must start with a letter or digit, so names never collide with
// EventStoreDB's `$`-prefixed system streams and stay safe in URLs and file listings.
const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

/** Throws `InvalidStreamNameError` unless `streamName` is acceptable to every adapter. */
export function assertValidStreamName(streamName: unknown): asserts streamName is string {
  if (typeof streamName !== 'string' || streamName.length === 0) {
    throw new InvalidStreamNameError(String(streamName), 'it must be a non-empty string');
  }
  if (streamName.length > MAX_STREAM_NAME_LENGTH) {
    throw new InvalidStreamNameError(
      streamName.slice(0, 40) + '…',
      `it is ${streamName.length} characters; the limit is ${MAX_STREAM_NAME_LENGTH}`,
    );
  }
  if (!STREAM_NAME.test(streamName)) {
    throw new InvalidStreamNameError(
      streamName,
      'use letters, digits and - _ . : @ only, starting with a letter or digit',
    );
  }
}
