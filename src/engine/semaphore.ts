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

  /**
   * Returns a slot, handing it to the longest waiter on the next turn: tasks that end at once
   * (and free their slots at once) would otherwise run a whole queue of waiting tasks inside one
   * turn, and every end would wait in memory for one commit at the end of it.
   */
  release(): void {
    const next = this.queue.shift();
    if (next) setImmediate(next);
    else this.available += 1;
  }
}
