/**
 * Group commit for new requests: every request submitted in one event-loop turn is created in one
 * `createRequests` call (one transaction on SQLite and PostgreSQL; on Redis, two or more calls in
 * flight: Store.concurrentWrites and maxRequestsPerWrite), and each caller gets its own result once
 * its call has stored them all.
 */
import type { CreateRequestResult, NewRequest, Store } from '../store/store.js';
import { splitForStore } from './write-queue.js';

interface Pending {
  item: NewRequest;
  resolve: (result: CreateRequestResult) => void;
  reject: (error: unknown) => void;
}

/** Batches createRequest calls per turn. */
export class CreateBatcher {
  private pending: Pending[] = [];

  constructor(private readonly store: Store) {}

  /** Creates the request (idempotently by ref) with the others of this turn. */
  create(item: NewRequest): Promise<CreateRequestResult> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    // As many calls as the store overlaps: callers of the first part go on while it runs the next.
    await Promise.all(splitForStore(pending, this.store).map((part) => this.createAll(part)));
  }

  private async createAll(batch: Pending[]): Promise<void> {
    try {
      const results = await this.store.createRequests(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
