/**
 * UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids keep
 * index inserts of requests and task runs at the end of their B-trees instead of scattered over
 * random pages, which is most of a commit's cost in SQLite and PostgreSQL alike.
 */
import { randomFillSync } from 'node:crypto';

// Random bytes are drawn 4 KiB at a time (one system call per ~400 ids, as randomUUID does).
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
const VARIANTS = '89ab';

/** A new UUIDv7 in the usual 8-4-4-4-12 form. */
export function uuidV7(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  // 18 hex digits (72 bits) and the 2 free bits of the variant digit (10xx): the 74 random bits.
  const random = pool.toString('hex', poolOffset, poolOffset + 9);
  const variant = VARIANTS[pool[poolOffset + 9]! & 3]!;
  poolOffset += 10;
  return `${timePrefix(now)}${random.slice(0, 3)}-${variant}${random.slice(3, 6)}-${random.slice(6, 18)}`;
}

let prefixTime = -1;
let prefix = '';

/** `tttttttt-tttt-7` for a millisecond: many ids share one, so it is made once per millisecond. */
function timePrefix(now: number): string {
  if (now !== prefixTime) {
    const time = now.toString(16).padStart(12, '0').slice(-12);
    prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
    prefixTime = now;
  }
  return prefix;
}
