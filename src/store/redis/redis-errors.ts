/** Translation of ioredis errors into the store's errors: stale writes and "cannot reach Redis". */
import { O3Error, StaleWriteError, StoreUnavailableError, errorMessage } from '../../errors.js';

// Replies that mean the server cannot serve now (loading, a busy script, a failover, out of memory)
// rather than a bug in a command.
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;
// Redis appends where a script raised the error; the store's message is what precedes it.
const STALE_REPLY = /^O3STALE (.*?)(?: script: [0-9a-f]+, on @user_script:\d+\.)?$/s;

/** The store error for anything an ioredis call threw; errors that are bugs pass through unchanged. */
export function toStoreError(error: unknown): unknown {
  if (error instanceof O3Error) return error;
  if (!(error instanceof Error)) return error;
  // Raised in this process, not by the connection: a bug to report, never to retry.
  if (error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError) return error;
  if (error.name === 'ReplyError') {
    const stale = STALE_REPLY.exec(error.message);
    if (stale) return new StaleWriteError(stale[1]!);
    if (!UNAVAILABLE_REPLY.test(error.message)) return error;
  }
  // Every error that is not a server reply is about the connection: refused, reset, closed, timed
  // out, or a command given up after the retries while reconnecting.
  return new StoreUnavailableError(`The Redis store cannot be reached: ${errorMessage(error)}`, error);
}
