import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { PUBLIC_KEY_FILE, createDigest, loadOrCreateDigestKeys } from '../audit/digest';
import { EVENT_SCHEMAS } from '../event-schemas';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { createEventStore } from '../stores/event-store.module';
import { progressBar } from './progress';

export function digestCommand(program: Command): void {
  program
    .command('digest')
    .description(
      'sign (Ed25519, key in DATA_DIR) the Merkle tree head (RFC 9162) of every event hash so far',
    )
    .option('--out <file>', 'where to write it (default: DATA_DIR/digests/digest-POSITION.json)')
    .action(async (options: { out?: string }) => {
      const settings = loadConfigOrExit();
      const events = createEventStore(settings, EVENT_SCHEMAS);
      try {
        const keys = loadOrCreateDigestKeys(settings.dataDir);
        const head = await events.stored.headPosition();
        const bar = progressBar('digest');
        // The hashes cover the events as stored, so the digest reads them so.
        const digest = await createDigest(events.stored, keys, {
          upTo: head,
          onProgress: (position) => bar.update(position, head),
        });
        bar.stop();
        const out =
          options.out ??
          join(settings.dataDir, 'digests', `digest-${digest.statement.position}.json`);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, `${JSON.stringify(digest, null, 2)}\n`);
        process.stdout.write(
          `${out}\n${digest.statement.treeSize} events up to position ${digest.statement.position}, root ${digest.statement.rootHash}\nPublic key: ${join(settings.dataDir, PUBLIC_KEY_FILE)} (sha256 ${digest.publicKeyFingerprint})\n`,
        );
      } finally {
        await events.close();
      }
    });
}
