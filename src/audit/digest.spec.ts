import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { merkleRoot, storedLog, type StoredEventLog } from '../event-sourcing';
import { SqliteEventStore } from '../stores/sqlite/sqlite-event-store';
import { testEvent } from '../../test/support/events';
import { checkDigest, createDigest, loadOrCreateDigestKeys, SIGNING_KEY_FILE } from './digest';

describe('signed log digests', () => {
  let dir: string;
  let fileName: string;
  let store: SqliteEventStore;
  let log: StoredEventLog;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'digest-'));
    fileName = join(dir, 'events.sqlite');
    store = new SqliteEventStore({ fileName });
    log = storedLog(store);
    for (let i = 0; i < 7; i += 1) await store.append(`s-${i % 3}`, [testEvent('E', { i })]);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs the RFC 9162 tree head of the event hashes with a key kept in DATA_DIR (0600)', async () => {
    const keys = loadOrCreateDigestKeys(dir);
    expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    const digest = await createDigest(log, keys, { now: new Date('2026-11-27T00:00:00Z') });
    const hashes = (await store.readAll(0, 100)).map((event) => event.hash);
    expect(digest.statement).toEqual({
      format: 'participant-progress/log-digest/1',
      treeSize: 7,
      position: 7,
      rootHash: merkleRoot(hashes),
      createdAt: '2026-11-27T00:00:00.000Z',
    });
    expect(JSON.parse(digest.signed)).toEqual(digest.statement);
    // The same key pair next time.
    expect(loadOrCreateDigestKeys(dir).publicKey.equals(keys.publicKey)).toBe(true);
  });

  it('a log that grew still extends the digest', async () => {
    const keys = loadOrCreateDigestKeys(dir);
    const digest = await createDigest(log, keys);
    await store.append('s-9', [testEvent('Later')]);
    const check = await checkDigest(log, digest, keys.publicKey);
    expect(check).toMatchObject({ signatureValid: true, logExtendsDigest: true, problems: [] });
  });

  it('fails for a rewritten event (its content, whatever its stored hash), a removed one, an altered statement or another key', async () => {
    const keys = loadOrCreateDigestKeys(dir);
    const digest = await createDigest(log, keys);

    const altered = { ...digest, signed: digest.signed.replace('"treeSize":7', '"treeSize":6') };
    expect((await checkDigest(log, altered, keys.publicKey)).signatureValid).toBe(false);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect((await checkDigest(log, digest, other)).signatureValid).toBe(false);

    const db = new Database(fileName);
    db.prepare("UPDATE events SET data = json_set(data, '$.i', 40) WHERE position = 4").run();
    const rewritten = await checkDigest(log, digest, keys.publicKey);
    expect(rewritten).toMatchObject({ signatureValid: true, logExtendsDigest: false });
    expect(rewritten.problems[0]).toContain('events the digest covers were changed');

    db.prepare('DELETE FROM events WHERE position = 7').run();
    db.close();
    const removed = await checkDigest(log, digest, keys.publicKey);
    expect(removed.logExtendsDigest).toBe(false);
    expect(removed.problems[0]).toContain('were removed');
  });

  it('refuses what is not a digest, saying what it needs', async () => {
    const keys = loadOrCreateDigestKeys(dir);
    const check = await checkDigest(log, { hello: 1 }, keys.publicKey);
    expect(check.problems).toEqual([
      'not a digest: it needs "signed" and "signature" (made by the digest command)',
    ]);
  });
});
