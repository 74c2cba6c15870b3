import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  canonicalJson,
  computeEventHash,
  MerkleTreeHasher,
  type StoredEventLog,
} from '../event-sourcing';

/** The private key that signs digests; stays in DATA_DIR (0600). */
export const SIGNING_KEY_FILE = 'digest-signing-key.pem';
/** Its public key: what an outside auditor needs, and all they need. */
export const PUBLIC_KEY_FILE = 'digest-public-key.pem';
export const DIGEST_FORMAT = 'participant-progress/log-digest/1';

/** What a digest states: the tree head of the log's first `treeSize` event hashes. */
export type DigestStatement = {
  readonly format: typeof DIGEST_FORMAT;
  /** Number of events covered: positions 1 to `position`, in order. */
  readonly treeSize: number;
  /** Position of the last event covered. */
  readonly position: number;
  /** RFC 9162 Merkle tree hash over the events' SHA-256 hashes, hex. */
  readonly rootHash: string;
  readonly createdAt: string;
};

/** A signed digest, as written to its file. */
export type SignedDigest = {
  readonly statement: DigestStatement;
  /** The exact bytes signed: the statement as RFC 8785 canonical JSON. */
  readonly signed: string;
  /** Ed25519 signature of `signed`, base64. */
  readonly signature: string;
  /** SHA-256 of the public key (SPKI DER), hex: which key to check it with. */
  readonly publicKeyFingerprint: string;
};

/** The digest key pair from DATA_DIR, made on first use. */
export function loadOrCreateDigestKeys(dataDir: string): {
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  const privateFile = join(dataDir, SIGNING_KEY_FILE);
  const publicFile = join(dataDir, PUBLIC_KEY_FILE);
  if (!existsSync(privateFile)) {
    mkdirSync(dataDir, { recursive: true });
    const pair = generateKeyPairSync('ed25519');
    writeFileSync(privateFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    });
  }
  chmodSync(privateFile, 0o600);
  const privateKey = createPrivateKey(readFileSync(privateFile));
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  if (!existsSync(publicFile) || readFileSync(publicFile, 'utf8') !== publicPem)
    writeFileSync(publicFile, publicPem, { mode: 0o644 });
  return { privateKey, publicKey };
}

/** SHA-256 of a public key's SPKI DER encoding, hex. */
export function fingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * The tree head of the log's events, up to `upTo` (default: all of them). The leaves are the
 * events' SHA-256 hashes recomputed from their content, so a changed event changes the root
 * whether or not its stored hash was changed with it. It reads the log as stored: an upcast
 * event would not hash to what was signed.
 */
export async function logTreeHead(
  store: StoredEventLog,
  options: { upTo?: number; onProgress?: (position: number) => void } = {},
): Promise<{ treeSize: number; position: number; rootHash: string }> {
  const hasher = new MerkleTreeHasher();
  const upTo = options.upTo ?? (await store.headPosition());
  let position = 0;
  while (position < upTo) {
    const batch = await store.readAll(position, 5000);
    if (batch.length === 0) break;
    for (const event of batch) {
      if (event.position > upTo) break;
      // Recomputed from the content, not the stored column: the digest vouches for the events.
      hasher.add(computeEventHash(event));
      position = event.position;
    }
    options.onProgress?.(position);
  }
  return { treeSize: hasher.size, position, rootHash: hasher.root() };
}

/** Signs the tree head of the log as it is now (or up to `upTo`). */
export async function createDigest(
  store: StoredEventLog,
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  options: { upTo?: number; now?: Date; onProgress?: (position: number) => void } = {},
): Promise<SignedDigest> {
  const head = await logTreeHead(store, options);
  const statement: DigestStatement = {
    format: DIGEST_FORMAT,
    ...head,
    createdAt: (options.now ?? new Date()).toISOString(),
  };
  const signed = canonicalJson(statement);
  return {
    statement,
    signed,
    signature: sign(null, Buffer.from(signed, 'utf8'), keys.privateKey).toString('base64'),
    publicKeyFingerprint: fingerprint(keys.publicKey),
  };
}

/** What checking a digest against the current log found. */
export type DigestCheck = {
  readonly signatureValid: boolean;
  /** The current log's first `treeSize` events still hash to the signed root. */
  readonly logExtendsDigest: boolean;
  readonly statement: DigestStatement | null;
  readonly problems: string[];
};

/**
 * Checks a digest: its signature against `publicKey`, then that the current log still extends
 * it (its first `treeSize` events have the signed tree head). Only the signed bytes are trusted.
 */
export async function checkDigest(
  store: StoredEventLog,
  digest: unknown,
  publicKey: KeyObject,
  onProgress?: (position: number) => void,
): Promise<DigestCheck> {
  const problems: string[] = [];
  const file = digest as Partial<SignedDigest> | null;
  if (!file || typeof file.signed !== 'string' || typeof file.signature !== 'string') {
    return {
      signatureValid: false,
      logExtendsDigest: false,
      statement: null,
      problems: ['not a digest: it needs "signed" and "signature" (made by the digest command)'],
    };
  }
  const signatureValid = verify(
    null,
    Buffer.from(file.signed, 'utf8'),
    publicKey,
    Buffer.from(file.signature, 'base64'),
  );
  if (!signatureValid) {
    problems.push(
      'the signature does not match the signed statement with this public key: the digest was altered, or signed with another key',
    );
  }
  let statement: DigestStatement;
  try {
    statement = JSON.parse(file.signed) as DigestStatement;
  } catch {
    return { signatureValid, logExtendsDigest: false, statement: null, problems };
  }
  if (statement.format !== DIGEST_FORMAT) {
    problems.push(`unknown digest format ${String(statement.format)}`);
    return { signatureValid, logExtendsDigest: false, statement, problems };
  }
  const head = await logTreeHead(store, {
    upTo: statement.position,
    ...(onProgress ? { onProgress } : {}),
  });
  let logExtendsDigest = true;
  if (head.position < statement.position || head.treeSize !== statement.treeSize) {
    logExtendsDigest = false;
    problems.push(
      `the log now has ${head.treeSize} events up to position ${head.position}, the digest covers ${statement.treeSize} up to ${statement.position}: events it covers were removed`,
    );
  } else if (head.rootHash !== statement.rootHash) {
    logExtendsDigest = false;
    problems.push(
      `the first ${statement.treeSize} events hash to ${head.rootHash}, not the signed ${statement.rootHash}: events the digest covers were changed, removed or inserted`,
    );
  }
  return { signatureValid, logExtendsDigest, statement, problems };
}
