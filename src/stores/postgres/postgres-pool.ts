import { Pool, type PoolClient, type QueryConfig } from 'pg';
import { failureKind } from '../../shared/transient';
import { asError } from '../../shared/as-error';

/**
 * How long PostgreSQL work may take before it is given up. Each bound sits below the HTTP
 * request's own deadline (REQUEST_TIMEOUT_MS), so that a request meeting a stuck or unreachable
 * database learns it in time to answer 503 itself.
 */
export interface PostgresTimeouts {
  /** Longest wait for a new connection (pg `connectionTimeoutMillis`). */
  readonly connectMs: number;
  /**
   * Longest a statement may run on the server (`statement_timeout`), and how long a session may
   * sit idle inside a transaction (`idle_in_transaction_session_timeout`): a client that
   * vanished mid-append must not hold the log's write lock until TCP notices.
   */
  readonly statementMs: number;
  /**
   * Longest wait for any answer on the client side (pg `query_timeout`): the server's own timeout
   * cannot fire through a connection that went silent (a network that drops packets).
   */
  readonly readMs: number;
}

/** The bounds for a service whose requests must answer within `requestTimeoutMs`. */
export function postgresTimeouts(requestTimeoutMs: number): PostgresTimeouts {
  return {
    connectMs: Math.min(5000, Math.floor(requestTimeoutMs / 2)),
    statementMs: Math.floor(requestTimeoutMs * 0.7),
    readMs: Math.floor(requestTimeoutMs * 0.85),
  };
}

/** The bounds when a store is opened without any: those of the default REQUEST_TIMEOUT_MS. */
export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = postgresTimeouts(10_000);

// pg takes the pool's `query_timeout` for any query that does not set its own, and 0 means
// "the pool's": "none" is spelled as the longest timer Node keeps (~24 days).
const NO_READ_TIMEOUT = 2 ** 31 - 1;

/**
 * A statement that may rightly run long (a schema migration, VACUUM FULL), so without the pool's
 * client-side read timeout; the session's `statement_timeout` is the caller's to lift.
 * (`query_timeout` per query is pg's, missing from its type declarations.)
 */
export function longStatement(text: string, values?: unknown[]): QueryConfig {
  const config: QueryConfig & { query_timeout: number } = {
    text,
    ...(values ? { values } : {}),
    query_timeout: NO_READ_TIMEOUT,
  };
  return config;
}

/**
 * A pool as every PostgreSQL store here opens it: bounded waits (see `PostgresTimeouts`), TCP
 * keep-alive, and an `error` handler, since an idle client whose connection drops (PostgreSQL
 * restarting, a proxy cutting it) emits an error that would otherwise crash the process. The
 * pool drops such a client and connects anew on the next query, so service resumes by itself.
 */
export function createPostgresPool(
  connectionString: string,
  options: { readonly max: number; readonly timeouts?: PostgresTimeouts },
): Pool {
  const timeouts = options.timeouts ?? DEFAULT_POSTGRES_TIMEOUTS;
  const pool = new Pool({
    connectionString,
    max: options.max,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.statementMs,
    query_timeout: timeouts.readMs,
    // Probes a connection idle for 10 s, so one lost without a word is noticed in minutes, not
    // the system's default two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Lends `work` one connection for several statements (a transaction). While it is lent, the
 * pool does not listen for its errors: a connection lost between two statements would emit an
 * unhandled `error` and crash the process, so it is caught here and the client is closed
 * rather than returned. So is a client whose statement failed in a way a retry may get past: its
 * connection may be broken, or still busy with a statement pg gave up waiting for.
 */
export async function withClient<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    if (failureKind(error) === 'transient') broken ??= asError(error);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * `setUp` (a schema migration) run until it succeeds once: every call waits for it, and a failed
 * attempt (the database was down at start-up) is forgotten, so the next call tries again instead
 * of failing for ever.
 */
export function untilSucceeded(setUp: () => Promise<void>): () => Promise<void> {
  let attempt: Promise<void> | undefined;
  return () => {
    if (attempt === undefined) {
      const current = setUp();
      attempt = current;
      current.catch(() => {
        if (attempt === current) attempt = undefined;
      });
    }
    return attempt;
  };
}
