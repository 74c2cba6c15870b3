// The round-robin proxy of `npm run bench:scale`, in a process of its own so that its CPU is
// measured apart from the load generator's. Every request goes to the next upstream in turn
// (per request, not per connection), over keep-alive connections; the same code serves every
// instance count, one upstream included, so each count pays the same extra hop.
//
// Upstreams come in SCALE_PROXY_UPSTREAMS (comma-separated base URLs), the port in
// SCALE_PROXY_PORT; it says "ready" on its IPC channel once it listens.
import { Agent, type IncomingHttpHeaders, createServer, request } from 'node:http';

// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) kept[name] = value;
  return kept;
}

const upstreams = (process.env.SCALE_PROXY_UPSTREAMS ?? '')
  .split(',')
  .filter(Boolean)
  .map((base) => {
    const url = new URL(base);
    return {
      hostname: url.hostname,
      port: Number(url.port),
      agent: new Agent({ keepAlive: true, maxFreeSockets: 256 }),
    };
  });
if (upstreams.length === 0) throw new Error('SCALE_PROXY_UPSTREAMS names no upstream');

let turn = 0;
let failed = 0;

const server = createServer((incoming, outgoing) => {
  const upstream = upstreams[turn++ % upstreams.length]!;
  const forwarded = request(
    {
      hostname: upstream.hostname,
      port: upstream.port,
      agent: upstream.agent,
      method: incoming.method,
      path: incoming.url,
      headers: endToEnd(incoming.headers),
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      answer.pipe(outgoing);
    },
  );
  forwarded.on('error', () => {
    failed += 1;
    if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
    outgoing.end('upstream failed');
  });
  incoming.pipe(forwarded);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.SCALE_PROXY_PORT), '127.0.0.1', () => process.send?.('ready'));

// Asked to stop: report the upstream failures (answered 502) and exit.
process.on('message', (message) => {
  if (message !== 'stop') return;
  process.send?.({ failed });
  server.close();
  server.closeAllConnections();
  process.disconnect?.();
  setTimeout(() => process.exit(0), 100).unref();
});
