import { type Command, InvalidArgumentError, Option } from 'commander';
import { ROLES, type Role } from '../shared/principal';
import { loadOrCreateSecret, mintToken } from '../auth/tokens';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { durationSeconds } from '../shared/duration';

export function tokenCommand(program: Command): void {
  program
    .command('token')
    .description('print a signed bearer token for local use')
    .addOption(
      new Option('--role <role>', 'the role the token carries')
        .choices(ROLES)
        .makeOptionMandatory(),
    )
    .option('--society <code>', 'society code, required for society_staff (e.g. B33)')
    .option('--sub <id>', 'subject; defaults to a name derived from the role')
    .option(
      '--ttl <duration>',
      'lifetime such as 8h, 30m, 7d; at most AUTH_MAX_TTL (12h unless set); 8h by default',
      (value) => {
        if (durationSeconds(value) === undefined)
          throw new InvalidArgumentError('use a number and a unit: 30m, 8h, 7d');
        return value;
      },
    )
    .action(async (options: { role: Role; society?: string; sub?: string; ttl?: string }) => {
      const settings = loadConfigOrExit();
      if (settings.AUTH_JWKS_URL) {
        process.stderr.write(
          'AUTH_JWKS_URL is set: tokens come from your identity provider, not from this command.\n',
        );
        process.exit(1);
      }
      const secret = loadOrCreateSecret(settings.dataDir, settings.AUTH_JWT_SECRET);
      const sub =
        options.sub ?? `${options.role}${options.society ? `-${options.society}` : ''}-local`;
      const token = await mintToken(
        {
          role: options.role,
          sub,
          ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
          ...(options.society !== undefined ? { society: options.society } : {}),
        },
        secret,
        settings.AUTH_MAX_TTL,
      ).catch((error: Error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
      });
      process.stdout.write(`${token}\n`);
    });
}
