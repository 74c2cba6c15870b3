// For a person to look at the dashboard pages: the demo app on PORT (default 3999) with tokens
// printed for each role. `node -r @swc-node/register test/support/demo-server.ts [postgres]`
import { startDemoApp } from './demo-app';

async function main(): Promise<void> {
  const app = await startDemoApp(process.argv[2] === 'postgres' ? 'postgres' : 'sqlite');
  for (const [role, society] of [
    ['dashboard'],
    ['society_staff', 'B33'],
    ['programme_admin'],
    ['auditor'],
  ] as const) {
    const { authorization } = await app.auth(role, society ? { society } : {});
    process.stdout.write(`${role}: ${app.base}/dashboard#token=${authorization!.slice(7)}\n`);
  }
  process.stdout.write(`position ${app.position}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
