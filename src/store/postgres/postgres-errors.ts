/** Translation of pg errors into the store's errors: stale writes and "cannot reach the database". */
import { O3Error, StaleWriteError, StoreUnavailableError, errorMessage } from '../../errors.js';

/** The SQLSTATE the store's functions raise for a stale write (see migrations.ts). */
export const STALE_SQLSTATE = 'O3STL';

// SQLSTATE classes and codes that mean the database cannot serve us right now, as opposed to a bug
// in a statement: connection exceptions (08), resources (53), operator intervention (57: admin or
// crash shutdown, cannot connect now, query canceled by a timeout), system errors (58), transaction
// rollbacks (40: a deadlock or serialization failure, which a retry resolves), and, as the SQLite
// store does for a file it cannot open, a login refused (28) or a database that does not exist.
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58', '40', '28'];
const UNAVAILABLE_CODES = new Set(['3D000']);

// Node socket errors, and the messages pg gives for a connection it lost or could not get.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const LOST_CONNECTION =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Cannot use a pool after calling end/i;

/** The store error for anything a pg call threw; errors that are bugs pass through unchanged. */
export function toStoreError(error: unknown): unknown {
  if (error instanceof O3Error) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === STALE_SQLSTATE) return new StaleWriteError(errorMessage(error));
  if (isUnavailable(error, code)) {
    return new StoreUnavailableError(`The PostgreSQL store cannot be reached: ${errorMessage(error)}`, error);
  }
  return error;
}

/** True when an error says the database cannot be reached or cannot serve now. */
function isUnavailable(error: unknown, code: unknown): boolean {
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (UNAVAILABLE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  if (error instanceof AggregateError) return error.errors.some((e) => isUnavailable(e, codeOf(e)));
  return error instanceof Error && LOST_CONNECTION.test(error.message);
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
