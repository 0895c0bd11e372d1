// Every change of the table runs one after another: a rotation, a reload and a
// stop never overlap, and a job that fails does not stop the ones after it.
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `job` after everything queued before it; resolves or rejects with it. */
  run(job: () => Promise<void>): Promise<void> {
    const run = this.tail.then(job, job);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Settles when everything queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
