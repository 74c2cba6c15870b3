/**
 * Lets the event loop run (timers, I/O, other requests) before a long loop goes on, then stops
 * the loop if `signal` was aborted meanwhile. Awaiting a store whose reads are synchronous
 * (better-sqlite3) resolves within the same turn, so a loop of such awaits would otherwise hold
 * the event loop until it ends: call this between pages.
 */
export async function nextTurn(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}
