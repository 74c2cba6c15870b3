/**
 * The load of `bench:commands`, in its own process so that the service keeps its core: autocannon
 * sending one POST body to a rotation of paths (one participant each), from `connections`
 * connections for `duration` seconds. Prints the result as one line of JSON.
 *
 *   node -r @swc-node/register bench/commands-load.ts '<json settings>'
 */
import autocannon from 'autocannon';

type Settings = {
  readonly url: string;
  readonly paths: readonly string[];
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly connections: number;
  readonly duration: number;
};

async function main(): Promise<void> {
  const settings = JSON.parse(process.argv[2] ?? '{}') as Settings;
  let next = 0;
  const result = await autocannon({
    url: settings.url,
    connections: settings.connections,
    duration: settings.duration,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...settings.headers },
        body: settings.body,
        setupRequest: (request) => {
          const path = settings.paths[next % settings.paths.length]!;
          next += 1;
          return { ...request, path };
        },
      },
    ],
  });
  const statuses: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {}))
    statuses[status] = stats.count ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      // Answered requests of every status, and the ones that did what was asked (2xx).
      rps: result.requests.average,
      okPerSecond: result['2xx'] / settings.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      statuses,
      errors: result.errors,
      timeouts: result.timeouts,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
