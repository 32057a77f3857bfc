/** A counting semaphore: the global limit on task runs in flight (O3_MAX_CONCURRENT_TASKS). */
export class Semaphore {
  private available: number;
  private readonly queue: (() => void)[] = [];

  constructor(limit: number) {
    this.available = limit;
  }

  /** Takes a slot at once when one is free (the common case costs no promise). */
  tryAcquire(): boolean {
    if (this.available <= 0) return false;
    this.available -= 1;
    return true;
  }

  /** Waits for a slot. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.queue.push(resolve));
  }

  /** Returns a slot, handing it straight to the longest waiter. */
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.available += 1;
  }
}
