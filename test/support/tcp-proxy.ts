import {
  type AddressInfo,
  type Server,
  type Socket,
  createConnection,
  createServer,
} from 'node:net';

/**
 * What the proxy does with traffic: `open` forwards it; `refuse` resets every connection, the
 * open ones at once and new ones as they arrive (PostgreSQL stopped); `silent` accepts
 * connections and forwards nothing either way (a network that drops packets: nothing fails,
 * nothing answers).
 */
export type ProxyMode = 'open' | 'refuse' | 'silent';

/**
 * A TCP proxy in front of a server (PostgreSQL at 127.0.0.1:5432 in the tests) that a test can
 * cut and restore, so an outage is staged deterministically without touching the server itself.
 * `delayMs` holds every chunk from the server back that long (a slow network or database).
 */
export class TcpProxy {
  private mode: ProxyMode = 'open';
  private readonly pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();
  /** Milliseconds every chunk from the server is held back; 0 forwards at once. */
  delayMs = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on a free loopback port and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The proxy's port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `url` (a postgres:// URL to the target) pointed at the proxy instead. */
  urlFor(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.port);
    return proxied.toString();
  }

  /** Connections made through the proxy and still open. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Resets every open connection and every new one until `restore`. */
  refuse(): void {
    this.mode = 'refuse';
    for (const pair of [...this.pairs]) this.reset(pair);
  }

  /** Forwards nothing, either way, until `restore`; connections stay open. */
  silence(): void {
    this.mode = 'silent';
  }

  /** Forwards again. Connections held while silent are reset: their peers gave up on them. */
  restore(): void {
    const wasSilent = this.mode === 'silent';
    this.mode = 'open';
    if (wasSilent) for (const pair of [...this.pairs]) this.reset(pair);
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.reset(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    this.pairs.add(pair);
    client.on('error', () => this.reset(pair));
    client.on('close', () => this.reset(pair));
    const connectUpstream = (): void => {
      const upstream = createConnection(this.target);
      pair.upstream = upstream;
      upstream.on('error', () => this.reset(pair));
      upstream.on('close', () => this.reset(pair));
      upstream.on('data', (chunk: Buffer) => {
        if (this.mode !== 'open') return;
        if (this.delayMs === 0) client.write(chunk);
        else setTimeout(() => client.writable && client.write(chunk), this.delayMs);
      });
      client.on('data', (chunk: Buffer) => {
        if (this.mode === 'open') upstream.write(chunk);
      });
    };
    if (this.mode === 'open') connectUpstream();
    // A connection accepted while silent never reaches the server: it just hangs.
  }

  private reset(pair: { client: Socket; upstream: Socket | undefined }): void {
    if (!this.pairs.delete(pair)) return;
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (pair.upstream && !pair.upstream.destroyed) pair.upstream.destroy();
  }
}
