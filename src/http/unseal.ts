import type { FastifyInstance } from 'fastify';
import type { PersonalDataVault } from '../event-sourcing';

/**
 * Opens the sealed personal fields of every answer, the last step before it is serialised: read
 * models, lists, as-of answers and audit events all hold ciphertext, and no route can forget to
 * open it (or show a person's data after their erasure: an erased value is `null`, beside
 * `erased: true`). A Fastify `preSerialization` hook sees every object an answer is made of,
 * whichever route or hook sends it.
 *
 * It was a global Nest interceptor; as such it put Nest's rxjs pipeline on every request.
 * Answers remembered for an Idempotency-Key are now kept as the route returned them (sealed),
 * and opened when they are sent again.
 */
export function installUnsealing(fastify: FastifyInstance, vault: PersonalDataVault): void {
  fastify.addHook('preSerialization', (_request, _reply, payload: unknown, done) => {
    vault.unseal(payload).then(
      (opened) => done(null, opened),
      (error: Error) => done(error),
    );
  });
}
