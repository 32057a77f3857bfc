/**
 * UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids keep
 * index inserts of requests and task runs at the end of their B-trees instead of scattered over
 * random pages, which is most of a commit's cost in SQLite and PostgreSQL alike.
 */
import { randomUUID } from 'node:crypto';

/** A new UUIDv7 in the usual 8-4-4-4-12 form. */
export function uuidV7(now: number = Date.now()): string {
  // randomUUID draws from a cached entropy pool (randomBytes(16) per id costs a system call);
  // its variant bits are already v7's, so only the time and the version digit change.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}
