import { EsdbProtocolServer } from './esdb-protocol-server';

// Runs the protocol-level test server in a process of its own (a client and a server in one
// event loop hide some timing), printing its connection string; ends when stdin closes.
// node -r @swc-node/register test/esdb-protocol-server/serve.ts
void (async () => {
  const server = await new EsdbProtocolServer().start();
  process.stdout.write(`${server.connectionString}\n`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.stdin.on('end', stop).on('close', stop).resume();
  process.on('SIGTERM', stop);
})();
