import { hostname } from 'node:os';
import { Client, type QueryResult, type QueryResultRow } from 'pg';
import type { Lease, Leadership } from '../../projections/leadership';
import { asError } from '../../shared/as-error';

/** Tuning for `PostgresLeadership`. */
export type PostgresLeadershipOptions = {
  /**
   * Longest a read model may go unled after its leader dies (LEADER_TAKEOVER_MS). A killed
   * process's session ends with its socket, and with it its locks; a frozen or cut-off one is
   * ended by the server once it has been silent for half of this (`idle_session_timeout`), since
   * the holder checks its session every fifth of it; standbys try again every fifth of it.
   */
  readonly takeoverMs: number;
  /** Called when a lease is won or lost (for logs and metrics). */
  readonly onChange?: (name: string, leading: boolean, reason?: string) => void;
  /**
   * The lock session's `application_name`, which shows in `pg_stat_activity` who leads; default
   * `progress-leader <host>/<pid>`.
   */
  readonly applicationName?: string;
};

// Every lock this service takes is named, and the name hashed into PostgreSQL's 64-bit
// advisory-lock key space under a prefix of ours and the schema the read models live in:
// advisory locks are per database, and two deployments may share one in separate schemas.
const KEY = `hashtextextended('participant-progress/' || current_schema() || '/' || $1, 0)`;

type Held = { readonly lease: PostgresLease; readonly client: Client };

class PostgresLease implements Lease {
  readonly lost: Promise<void>;
  private end!: () => void;
  private gone = false;

  constructor(private readonly onRelease: () => Promise<void>) {
    this.lost = new Promise((resolve) => (this.end = resolve));
  }

  isLost(): boolean {
    return this.gone;
  }

  /** Marks the lease gone (the session that held it ended). */
  drop(): void {
    this.gone = true;
    this.end();
  }

  async release(): Promise<void> {
    if (this.gone) return;
    this.gone = true;
    try {
      await this.onRelease();
    } finally {
      this.end();
    }
  }
}

/**
 * Leadership by PostgreSQL advisory locks (read models in PostgreSQL): one session-level lock per
 * name, all held on one dedicated connection, so that the locks go with the session when the
 * process dies, kill -9 included. When that connection fails, every lease is lost at once and the
 * runner stops writing; the next attempt opens a new connection.
 */
export class PostgresLeadership implements Leadership {
  readonly retryMs: number;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly held = new Map<string, Held>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last query sent on each connection: the next one waits for it. */
  private readonly turns = new WeakMap<Client, Promise<unknown>>();

  constructor(
    private readonly connectionString: string,
    private readonly options: PostgresLeadershipOptions,
  ) {
    this.retryMs = Math.max(50, Math.floor(options.takeoverMs / 5));
  }

  async tryLead(name: string): Promise<Lease | undefined> {
    if (this.closed) return undefined;
    const existing = this.held.get(name);
    if (existing && !existing.lease.isLost()) return undefined;
    const client = await this.connection();
    const { rows } = await this.query<{ won: boolean }>(
      client,
      `SELECT pg_try_advisory_lock(${KEY}) AS won`,
      [name],
    );
    if (!rows[0]?.won) return undefined;
    const lease = new PostgresLease(async () => {
      this.held.delete(name);
      if (this.client === client)
        await this.query(client, `SELECT pg_advisory_unlock(${KEY})`, [name]).catch(
          () => undefined,
        );
      this.options.onChange?.(name, false, 'released');
    });
    this.held.set(name, { lease, client });
    this.options.onChange?.(name, true);
    return lease;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    for (const [name, held] of [...this.held]) {
      this.held.delete(name);
      held.lease.drop();
    }
    await client?.end().catch(() => undefined);
  }

  /**
   * One query at a time on a connection. Leases are released together (a runner stopping lets go
   * of every read model at once) and the heartbeat runs beside them; pg queues such queries today
   * but deprecates it, and pg 9 will refuse them.
   */
  private query<R extends QueryResultRow>(
    client: Client,
    text: string,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    const previous = this.turns.get(client) ?? Promise.resolve();
    const next = previous.then(
      () => client.query<R>(text, values),
      () => client.query<R>(text, values),
    );
    this.turns.set(client, next);
    return next;
  }

  private connection(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const { takeoverMs } = this.options;
    const client = new Client({
      connectionString: this.connectionString,
      connectionTimeoutMillis: Math.max(1000, takeoverMs),
      // A silent server must not hold the holder in a query longer than takeover allows.
      query_timeout: Math.max(1000, Math.floor(takeoverMs / 2)),
      keepAlive: true,
      keepAliveInitialDelayMillis: Math.max(1000, Math.floor(takeoverMs / 2)),
      application_name:
        this.options.applicationName ?? `progress-leader ${hostname()}/${process.pid}`.slice(0, 63),
    });
    client.on('error', (error) => this.lose(client, error.message));
    client.on('end', () => this.lose(client, 'connection closed'));
    await client.connect();
    try {
      // The server ends this session, releasing its locks, when the holder has been silent for
      // half the takeover time (the heartbeat below speaks every fifth of it).
      await client.query(
        `SET idle_session_timeout = ${Math.max(1000, Math.floor(takeoverMs / 2))}`,
      );
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error('leadership closed');
    }
    this.client = client;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      this.query(client, 'SELECT 1').catch((error: unknown) => {
        this.lose(client, asError(error).message);
        void client.end().catch(() => undefined);
      });
    }, this.retryMs);
    this.heartbeat.unref();
    return client;
  }

  // The session is gone, and every lock it held with it.
  private lose(client: Client, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    for (const [name, held] of [...this.held]) {
      if (held.client !== client) continue;
      this.held.delete(name);
      held.lease.drop();
      this.options.onChange?.(name, false, reason);
    }
  }
}
