/**
 * Group commit for new requests: every request submitted in one event-loop turn is created in one
 * `createRequests` call (one transaction on SQLite and PostgreSQL), and each caller gets its own
 * result once that call has stored them all.
 */
import type { CreateRequestResult, NewRequest, Store } from '../store/store.js';

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
    const batch = this.pending;
    this.pending = [];
    try {
      const results = await this.store.createRequests(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
