// Bounded polling for state that changes asynchronously (a daemon loading its table, a
// set filling from the packet path). Always bounded in time and in tries.

export interface PollOptions {
  /** Give up after this long. Default 5 000 ms. */
  timeoutMs?: number;
  /** Pause between tries. Default 50 ms. */
  intervalMs?: number;
  /** Said in the error when it never happens. */
  message?: string;
}

/**
 * Calls check until it returns a value other than undefined/null/false, and resolves with
 * that value. Rejects after timeoutMs with the last value or error seen.
 */
export async function pollUntil<T>(
  check: () => T | Promise<T>,
  opts: PollOptions = {},
): Promise<NonNullable<Exclude<T, false>>> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / Math.max(intervalMs, 1)) + 1;
  let last: unknown;
  for (let i = 0; i < maxTries; i++) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v as NonNullable<Exclude<T, false>>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(deadline - Date.now(), 0))));
  }
  const what = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`${opts.message ?? 'condition'} not met within ${timeoutMs} ms (last: ${what})`);
}
