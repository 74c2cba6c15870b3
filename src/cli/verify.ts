import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PUBLIC_KEY_FILE, checkDigest } from '../audit/digest';
import { runVerification } from '../audit/verification';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { EVENT_SCHEMAS } from '../event-schemas';
import { PROJECTIONS } from '../read-models';
import { createReadModelStore } from '../stores/read-model-store.module';
import { createEventStore } from '../stores/event-store.module';
import { progressBar } from './progress';

export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      "recompute every event's hash and every stream's chain, compare every read model with a fresh replay; exit 1 on any mismatch",
    )
    .option('--digest <file>', 'also check that the log still extends this signed digest')
    .option(
      '--public-key <file>',
      `public key to check the digest with (default: ${PUBLIC_KEY_FILE} in DATA_DIR)`,
    )
    .action(async (options: { digest?: string; publicKey?: string }) => {
      const settings = loadConfigOrExit();
      const events = createEventStore(settings, EVENT_SCHEMAS);
      const readModels = createReadModelStore(settings);
      let failed = false;
      try {
        if (options.digest) {
          const digest = readJsonFile(options.digest);
          const publicKey = createPublicKey(
            readFileSync(options.publicKey ?? join(settings.dataDir, PUBLIC_KEY_FILE)),
          );
          const bar = progressBar('digest');
          const check = await checkDigest(events.stored, digest, publicKey, (position) =>
            bar.update(
              position,
              (digest as { statement?: { position?: number } }).statement?.position ?? position,
            ),
          );
          bar.stop();
          if (check.signatureValid && check.logExtendsDigest) {
            process.stdout.write(
              `Digest OK: signature valid; the log still extends it (${check.statement!.treeSize} events up to position ${check.statement!.position}, root ${check.statement!.rootHash}).\n`,
            );
          } else {
            failed = true;
            for (const problem of check.problems) process.stdout.write(`DIGEST  ${problem}\n`);
          }
        }
        const bar = progressBar('verify');
        const report = await runVerification(events.stored, events, readModels, PROJECTIONS, {
          onProgress: ({ position, head }) => bar.update(position, head),
        });
        bar.stop();
        for (const problem of report.log.problems) {
          const where = problem.revision === null ? '' : ` revision ${problem.revision}`;
          const at = problem.position === null ? '' : ` (position ${problem.position})`;
          process.stdout.write(`LOG  ${problem.streamName}${where}${at}: ${problem.problem}\n`);
        }
        if (report.log.unlistedProblems > 0)
          process.stdout.write(`LOG  … and ${report.log.unlistedProblems} more problems\n`);
        for (const problem of report.readModels.problems) {
          process.stdout.write(
            `READ MODEL  ${problem.projection}${problem.key === null ? '' : ` row ${problem.key}`}: ${problem.problem}\n`,
          );
        }
        process.stdout.write(
          `${report.log.events} events in ${report.log.streams} streams checked up to position ${report.log.position}${report.log.headsChecked ? ', with stream heads' : ''}; ${report.readModels.readModels.map((model) => `${model.name} (${model.documents} rows)`).join(', ') || 'no read models'} compared with a fresh replay.\n`,
        );
        if (!report.ok) failed = true;
        process.stdout.write(
          failed
            ? 'Verification FAILED: see the lines above. Restore the store from a backup taken before the first bad position, or rebuild the read models named (npm run cli -- rebuild).\n'
            : 'Verification OK.\n',
        );
      } finally {
        await readModels.close();
        await events.close();
      }
      if (failed) process.exitCode = 1;
    });
}

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(
      `Cannot read ${file} as a digest (${(error as Error).message}): pass a file the digest command wrote.`,
      { cause: error },
    );
  }
}
