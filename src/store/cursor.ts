/**
 * The list cursor every store hands out: the (createdAt, uuid) of the last item of a page, as opaque
 * base64url. Shared so that a cursor means the same position whichever backend made it.
 */
import { O3Error } from '../errors.js';

/** The cursor after an item created at `createdAt` with `uuid`. */
export function encodeCursor(createdAt: number, uuid: string): string {
  return Buffer.from(JSON.stringify([createdAt, uuid])).toString('base64url');
}

/** Reads a cursor made by encodeCursor; anything else is the caller's mistake (bad_request). */
export function decodeCursor(cursor: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && Number.isFinite(value[0]) && typeof value[1] === 'string') {
      return [value[0] as number, value[1]];
    }
  } catch {
    // fall through to the error below: a cursor that does not parse is as bad as a wrong shape
  }
  throw new O3Error('bad_request', `The list cursor "${cursor}" is not valid; use the nextCursor of a page.`);
}
