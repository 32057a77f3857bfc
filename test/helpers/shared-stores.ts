/** Fresh PostgreSQL schemas and Redis key prefixes on the machine's shared servers, and their removal. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/** The machine's PostgreSQL database and Redis server. */
export const SHARED = {
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  redis: 'redis://127.0.0.1:6379',
} as const;

/** A store URL of an empty schema (PostgreSQL) or prefix (Redis), named with `tag`. */
export function freshStoreUrl(kind: 'postgres' | 'redis', tag: string): string {
  const id = `${tag}_${randomBytes(5).toString('hex')}`;
  return kind === 'postgres' ? `${SHARED.postgres}?schema=${id}` : `${SHARED.redis}?prefix=${id}:`;
}

/** Drops what a store URL from freshStoreUrl holds: its schema, or every key under its prefix. */
export async function dropStore(storeUrl: string): Promise<void> {
  const url = new URL(storeUrl);
  if (url.protocol === 'postgres:') {
    const client = new pg.Client(storeUrl.split('?')[0]);
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${url.searchParams.get('schema') ?? ''}" CASCADE`);
    await client.end();
  } else if (url.protocol === 'redis:') {
    const redis = new Redis(storeUrl.split('?')[0]!);
    const prefix = url.searchParams.get('prefix') ?? '';
    for (let cursor = '0'; ;) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    redis.disconnect();
  }
}

/** The shared stores, for `describe.each`. */
export const SHARED_KINDS = ['postgres', 'redis'] as const;

/** freshStoreUrl, with its removal added to `cleanups` (run them in afterAll). */
export function trackedStoreUrl(
  kind: 'postgres' | 'redis',
  tag: string,
  cleanups: (() => Promise<void>)[],
): string {
  const url = freshStoreUrl(kind, tag);
  cleanups.push(() => dropStore(url));
  return url;
}
