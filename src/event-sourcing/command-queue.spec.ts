import { CommandQueueTimeoutError, retryBackoffMs, StreamCommandQueue } from './command-queue';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('StreamCommandQueue', () => {
  it('runs the commands of one stream one after the other, in arrival order', async () => {
    const queue = new StreamCommandQueue(5000);
    const log: string[] = [];
    let running = 0;
    const work = (name: string) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c'].map((name) => queue.run('s-1', work(name))));
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(queue.pending).toBe(0);
  });

  it('lets commands of different streams run side by side', async () => {
    const queue = new StreamCommandQueue(5000);
    let running = 0;
    let most = 0;
    await Promise.all(
      ['s-1', 's-2', 's-3'].map((stream) =>
        queue.run(stream, async () => {
          running += 1;
          most = Math.max(most, running);
          await tick();
          running -= 1;
        }),
      ),
    );
    expect(most).toBe(3);
  });

  it('goes on with the next command when one fails', async () => {
    const queue = new StreamCommandQueue(5000);
    const first = queue.run('s-1', () => Promise.reject(new Error('refused')));
    const second = queue.run('s-1', () => Promise.resolve('decided'));
    await expect(first).rejects.toThrow('refused');
    await expect(second).resolves.toBe('decided');
  });

  it('refuses a command that waited its whole deadline, and those behind it keep their order', async () => {
    const queue = new StreamCommandQueue(100);
    const timedOut: number[] = [];
    queue.observe({ waited: () => undefined, timedOut: () => timedOut.push(1), retried: () => 0 });
    let releaseFirst!: () => void;
    const first = queue.run('s-1', () => new Promise<string>((r) => (releaseFirst = () => r('1'))));
    const second = queue.run('s-1', () => Promise.resolve('2'));
    await expect(second).rejects.toBeInstanceOf(CommandQueueTimeoutError);
    await expect(second).rejects.toMatchObject({
      code: 'COMMAND_QUEUE_TIMEOUT',
      reason: 'deadline',
    });
    // A third, queued after the second gave up, still waits for the first, not for nothing.
    let thirdRan = false;
    const third = queue.run('s-1', () => {
      thirdRan = true;
      return Promise.resolve();
    });
    await tick();
    expect(thirdRan).toBe(false);
    releaseFirst();
    await expect(first).resolves.toBe('1');
    await third;
    expect(thirdRan).toBe(true);
    expect(timedOut).toHaveLength(1);
    expect(queue.pending).toBe(0);
  });

  it('refuses at once past maxWaiting commands on one stream', async () => {
    const queue = new StreamCommandQueue(5000, 2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = [queue.run('s-1', () => gate), queue.run('s-1', () => gate)];
    await expect(queue.run('s-1', () => gate)).rejects.toMatchObject({ reason: 'full' });
    // Another stream is not affected.
    await expect(queue.run('s-2', () => Promise.resolve('ok'))).resolves.toBe('ok');
    release();
    await Promise.all(running);
  });

  it('reports how long each command waited', async () => {
    const queue = new StreamCommandQueue(5000);
    const waits: number[] = [];
    queue.observe({ waited: (ms) => waits.push(ms), timedOut: () => 0, retried: () => 0 });
    await Promise.all([
      queue.run('s-1', () => new Promise((resolve) => setTimeout(resolve, 30))),
      queue.run('s-1', () => Promise.resolve()),
    ]);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeLessThan(10);
    expect(waits[1]).toBeGreaterThanOrEqual(25);
  });
});

describe('retryBackoffMs', () => {
  it('grows exponentially from 2 ms to at most 100 ms, jittered below that ceiling', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) =>
      retryBackoffMs(attempt, () => 1),
    );
    expect(ceilings).toEqual([2, 4, 8, 16, 32, 64, 100, 100, 100]);
    for (let i = 0; i < 100; i += 1) {
      const pause = retryBackoffMs(4);
      expect(pause).toBeGreaterThanOrEqual(0);
      expect(pause).toBeLessThanOrEqual(16);
    }
  });
});
