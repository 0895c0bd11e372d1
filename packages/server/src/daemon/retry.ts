// What the daemon does after a failed change of the table: retry after 1, 2, 5,
// 10 s; after two failures in a row, suspect its picture of the kernel and
// reload the whole table.
export const RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000] as const;

export class RetryPolicy {
  private failures = 0;

  /** How many changes failed in a row. */
  get attempts(): number {
    return this.failures;
  }

  /** A change failed: the delay before the next try. */
  failed(): number {
    const delay = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)]!;
    this.failures += 1;
    return delay;
  }

  succeeded(): void {
    this.failures = 0;
  }

  /** Repeated failures: reload the whole table instead of another change. */
  get shouldResync(): boolean {
    return this.failures >= 2;
  }

  /** No failure is pending: a rotation may be prepared ahead. */
  get clear(): boolean {
    return this.failures === 0;
  }
}
