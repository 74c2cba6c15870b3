// Shared helpers for the benchmarks: scale, timing, and the `bench:` output lines.
import { createHash, randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '../src/event-sourcing';

/** Fraction of the default workload size, from BENCH_SCALE (default 1). */
export const SCALE = (() => {
  const raw = process.env.BENCH_SCALE ?? '1';
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new Error(`BENCH_SCALE must be a positive number such as 0.1 or 1, not "${raw}"`);
  }
  return scale;
})();

/** `count` scaled by BENCH_SCALE, never below `min`. */
export function scaled(count: number, min = 1): number {
  return Math.max(min, Math.round(count * SCALE));
}

/** One measured figure. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
  /** Decimals to print; by default none, or 2 (3 in the `bench:` lines) for unit `x`. */
  readonly decimals?: number;
}

const figures: Figure[] = [];

/** Records a figure and prints it as it comes. */
export function report(figure: Figure): void {
  figures.push(figure);
  const value =
    figure.decimals !== undefined
      ? figure.value.toLocaleString('en-US', {
          minimumFractionDigits: figure.decimals,
          maximumFractionDigits: figure.decimals,
        })
      : figure.unit === 'x'
        ? figure.value.toFixed(2)
        : Math.round(figure.value).toLocaleString('en-US');
  process.stdout.write(
    `  ${figure.name.padEnd(44)} ${value.padStart(12)} ${figure.unit}${figure.note ? `  (${figure.note})` : ''}\n`,
  );
}

/** Prints every figure as `bench: <name> <value> <unit>`, the lines scripts read. */
export function printBenchLines(): void {
  process.stdout.write('\n');
  for (const figure of figures) {
    const value =
      figure.decimals !== undefined
        ? figure.value.toFixed(figure.decimals)
        : figure.unit === 'x'
          ? figure.value.toFixed(3)
          : String(Math.round(figure.value));
    process.stdout.write(`bench: ${figure.name} ${value} ${figure.unit}\n`);
  }
}

/** Runs `work` and returns its items per second. */
export async function rate(count: number, work: () => Promise<void> | void): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return count / seconds;
}

const PILLARS = ['political', 'professional', 'social'] as const;

const subjects = new Map<number, { readonly subjectRef: string; readonly participantId: string }>();

/**
 * Generated data subject `n`: its pseudonym (`subjectRef`, 32 hex characters like the vault's)
 * and its participant id. Computed once per subject, so no workload pays for it per event.
 */
export function subjectOf(n: number): {
  readonly subjectRef: string;
  readonly participantId: string;
} {
  let subject = subjects.get(n);
  if (subject === undefined) {
    subject = {
      subjectRef: createHash('sha256').update(`bench-subject-${n}`).digest('hex').slice(0, 32),
      participantId: `0199cccc-0000-7000-8000-${String(n).padStart(12, '0')}`,
    };
    subjects.set(n, subject);
  }
  return subject;
}

/**
 * A realistic ActivityLogged event of data subject `subject` (about 450 bytes with metadata), as
 * the service writes it now: the participant's pseudonym (`subjectRef`, whose key seals the
 * personal `title` and `evidence`), and evidence on one activity in four.
 */
export function activityEvent(i: number, subject: number): NewEvent {
  const { subjectRef, participantId } = subjectOf(subject);
  const metadata: EventMetadata = {
    actor: { sub: `student-${i % 997}`, role: 'participant' },
    correlationId: randomUUID(),
    causationId: null,
    schemaVersion: 1,
  };
  return {
    type: 'ActivityLogged',
    data: {
      participantId,
      activityId: `act-${i}`,
      subjectRef,
      pillar: PILLARS[i % 3]!,
      category: 'cross_disciplinary_exchange',
      title: 'Rare-earth separation chemistry seminar',
      occurredOn: '2026-03-14',
      endedOn: null,
      hours: (i % 8) + 1,
      evidence: i % 4 === 0 ? `https://files.example.org/certificates/${i}.pdf` : null,
    },
    metadata,
  };
}
