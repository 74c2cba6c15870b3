import { ConfigError, loadConfig, type AppConfig } from './app-config';

/**
 * The settings for a process that is starting (the service or a CLI command). A bad setting is
 * the operator's to fix, not a crash: print its one-line message, without a stack trace, and
 * exit 1. Anything else is a bug and is thrown as usual.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
