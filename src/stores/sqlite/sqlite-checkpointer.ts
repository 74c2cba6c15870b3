import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { SqliteSynchronous } from './sqlite-database';

/** How to run checkpoints beside a writing connection. */
export interface SqliteCheckpointerOptions {
  /** The database file the writer commits to. */
  readonly fileName: string;
  /** The writer's durability setting; the checkpointing connection must sync as it does. */
  readonly synchronous: SqliteSynchronous;
  /** How long the thread's connection waits for a lock, in ms. */
  readonly busyTimeoutMs: number;
  /**
   * How many WAL pages the writer lets accumulate before it checkpoints itself, while the
   * thread runs: a safety net for a thread that falls behind, and what lets the WAL start over
   * (a checkpoint that runs beside a busy writer never catches up with its last commit).
   */
  readonly writerCheckpointPages?: number;
}

// Slots of the shared counters.
const COMMITS = 0;
const STOP = 1;

// Plain JavaScript, run with `eval` so that it needs no build step (the service runs compiled,
// the CLI and the benchmarks through a TypeScript loader, the tests through Jest).
const CHECKPOINT_THREAD = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const state = workerData.state;
const db = new Database(workerData.fileName, { timeout: workerData.busyTimeoutMs });
try {
  db.pragma('synchronous = ' + workerData.synchronous);
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  // Counting from 0, commits made before the thread was up get a checkpoint too.
  let seen = 0;
  for (;;) {
    if (Atomics.load(state, ${STOP}) !== 0) break;
    if (Atomics.load(state, ${COMMITS}) === seen) {
      Atomics.wait(state, ${COMMITS}, seen);
      continue;
    }
    // Let a few commits gather, so a checkpoint copies a page once for several of them.
    Atomics.wait(state, ${STOP}, 0, workerData.gatherMs);
    if (Atomics.load(state, ${STOP}) !== 0) break;
    seen = Atomics.load(state, ${COMMITS});
    try {
      checkpoint.run();
    } catch {
      // Busy or failing: the writer's own checkpoints (the safety net) carry on meanwhile.
    }
  }
} finally {
  db.close();
}
`;

/**
 * Runs the WAL checkpoints of one writing connection on a thread of its own.
 *
 * SQLite checkpoints a WAL file from inside the commit that makes it reach 1000 pages: it copies
 * the pages into the database file and syncs both files, on the event loop. Under load that was
 * about a third of an append's time (a batch of 50 appends: 12 us per event for the commit
 * without checkpoints, 23-37 with them). Here a second connection on a worker thread checkpoints
 * (PASSIVE: it never blocks the writer) shortly after commits, so the writer only writes its
 * pages to the WAL.
 *
 * Durability is the same or better: the thread's connection uses the writer's `synchronous`
 * setting, so each checkpoint syncs the WAL before copying and the database file after, as the
 * writer's own did; and it runs within milliseconds of a commit instead of once per 1000 pages
 * (which, at a few appends a minute, could be days). The writer keeps its own automatic
 * checkpoint at `writerCheckpointPages` as a safety net; if the thread stops, the writer goes
 * back to SQLite's default.
 */
export class SqliteCheckpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(writer: Database.Database, options: SqliteCheckpointerOptions) {
    this.worker = new Worker(CHECKPOINT_THREAD, {
      eval: true,
      // Not the parent's flags: a TypeScript loader (-r) would take seconds to start for nothing.
      execArgv: [],
      workerData: {
        driver: require.resolve('better-sqlite3'),
        state: this.state,
        fileName: options.fileName,
        synchronous: options.synchronous,
        busyTimeoutMs: options.busyTimeoutMs,
        gatherMs: 5,
      },
    });
    // A checkpoint thread must never keep the process alive on its own.
    this.worker.unref();
    const writerPages = options.writerCheckpointPages ?? 10_000;
    writer.pragma(`wal_autocheckpoint = ${writerPages}`);
    this.exited = new Promise((resolve) => {
      const stopped = () => {
        if (writer.open) writer.pragma('wal_autocheckpoint = 1000');
        resolve();
      };
      this.worker.once('exit', stopped);
      this.worker.once('error', stopped);
    });
  }

  /** Tells the thread that the writer committed; costs an atomic add and a wake-up. */
  committed(): void {
    Atomics.add(this.state, COMMITS, 1);
    Atomics.notify(this.state, COMMITS);
  }

  /** Stops the thread and waits until its connection is closed. */
  async close(): Promise<void> {
    // Referenced again, so that the process lives until the thread has closed its connection.
    this.worker.ref();
    Atomics.store(this.state, STOP, 1);
    Atomics.add(this.state, COMMITS, 1);
    Atomics.notify(this.state, COMMITS);
    Atomics.notify(this.state, STOP);
    await this.exited;
  }
}
