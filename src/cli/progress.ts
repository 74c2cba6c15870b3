import { MultiBar, Presets } from 'cli-progress';

/** One progress bar of a long command. */
export interface ProgressBar {
  /** `done` of `total` (a `total` of 0 counts as 1, so an empty log still ends at 100 %). */
  update(done: number, total: number, payload?: { speed: number }): void;
  stop(): void;
}

/** `{label} [bar] 42% | 4200/10000 | ETA 3s`; `rebuild` adds its events per second. */
export const PLAIN_FORMAT = '{label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}';
export const EVENTS_FORMAT =
  '{label} [{bar}] {percentage}% | {value}/{total} events | {speed} events/s | ETA {eta_formatted}';

/**
 * A progress bar on stderr, so stdout stays clean for what a command prints (`export` writes its
 * NDJSON there). On a pipe or in CI it does not redraw: one line when the work is done.
 */
export function progressBar(label: string, format: string = PLAIN_FORMAT): ProgressBar {
  const bars = new MultiBar(
    {
      format,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 60_000,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const bar = bars.create(1, 0, { label, speed: 0 });
  return {
    update: (done, total, payload) => {
      bar.setTotal(Math.max(total, 1));
      bar.update(Math.min(done, Math.max(total, 1)), payload);
    },
    stop: () => bars.stop(),
  };
}
