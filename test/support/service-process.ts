import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(__dirname, '../..');

/** The service as operators run it, from the TypeScript sources, in a child process. */
export type ServiceProcess = {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves once its output contains `text`; rejects after `ms`. */
  waitForOutput(text: string, ms?: number): Promise<void>;
  /** Settles when it exits: its exit code (null if a signal ended it), and when. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Kills it if it still runs (SIGKILL): for clean-up after a failed test. */
  kill(): void;
};

/** A port free on loopback at the moment of asking. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `node -r @swc-node/register src/main.ts` with `env` (on a free PORT) and resolves once
 * it says it is serving; rejects with its output if it exits or has not started within 90 s.
 */
export async function startService(env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(root, 'src/main.ts')], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 90_000);
    const onData = (): void => {
      if (!output.includes('Serving on')) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve();
    };
    child.stdout.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before serving:\n${output}`));
    });
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    waitForOutput: async (text, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!output.includes(text)) {
        if (Date.now() > deadline)
          throw new Error(`service did not print ${JSON.stringify(text)} within ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
