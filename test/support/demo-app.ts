import type { AddressInfo } from 'node:net';
import { CommandBus } from '@nestjs/cqrs';
import { seedDemoCohort } from '../../src/cli/demo-cohort';
import { PersonalDataVault } from '../../src/event-sourcing';
import { FixedClock } from '../../src/shared/clock';
import { freshEnv, startApp, type StoreKind, type TestApp } from './app';

/** The day the demo's figures are read on (pace depends on it): mid-July of the first year. */
export const DEMO_TODAY = '2026-07-15T10:00:00+08:00';

/** The real app on a fresh store with `seed --demo`'s cohort, listening on a loopback port. */
export type DemoApp = TestApp & {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** Where the demo cohort's events end. */
  readonly position: number;
};

export async function startDemoApp(
  kind: StoreKind,
  settings: NodeJS.ProcessEnv = {},
): Promise<DemoApp> {
  const t = await startApp(
    { ...(await freshEnv(kind)), ...settings },
    new FixedClock(new Date(DEMO_TODAY)),
  );
  try {
    const vault = t.app.get(PersonalDataVault);
    await vault.ready();
    await seedDemoCohort(
      t.app.get(CommandBus),
      () => Promise.resolve(false),
      (sub) => vault.pseudonym(sub),
    );
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    return { ...t, base: `http://127.0.0.1:${port}`, position: await t.store.headPosition() };
  } catch (error) {
    await t.close();
    throw error;
  }
}
