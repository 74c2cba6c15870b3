import type { AppConfig } from '../config/app-config';
import { PersonalDataVault } from '../event-sourcing';
import { createSubjectKeyStore } from '../stores/subject-key-store.module';

/**
 * Runs `work` with the personal-data vault of the configured key store, for commands that show
 * events or documents to a person: what they print is opened (erased values read as null beside
 * `erased: true`), exactly as the API answers.
 */
export async function withVault<T>(
  config: AppConfig,
  work: (vault: PersonalDataVault) => Promise<T>,
): Promise<T> {
  const keys = createSubjectKeyStore(config);
  try {
    return await work(await PersonalDataVault.open(keys));
  } finally {
    await keys.close();
  }
}
