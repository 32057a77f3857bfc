/** Picks and opens the store named by a URL (`O3_STORE`, `--store`), §8. */
import { O3Error } from '../errors.js';
import { createPostgresStore } from './postgres/postgres-store.js';
import { createRedisStore } from './redis/redis-store.js';
import { createSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

const ACCEPTED =
  'sqlite:PATH (e.g. sqlite:./data/o3.db), sqlite::memory:, a bare path ending in .db, postgres://… or redis://…';

/** Opens the store a URL names and initialises it; throws O3Error('bad_request') for an unknown form. */
export async function createStore(url: string): Promise<Store> {
  const store = storeFor(url.trim());
  await store.init();
  return store;
}

/** The (not yet initialised) store for a URL. */
function storeFor(url: string): Store {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '')
      throw new O3Error('bad_request', `The store URL "${url}" names no file; use ${ACCEPTED}.`);
    return createSqliteStore(path);
  }
  if (url.endsWith('.db') && !url.includes('://')) return createSqliteStore(url);
  if (/^postgres(ql)?:\/\//.test(url)) return createPostgresStore(url);
  if (/^rediss?:\/\//.test(url)) return createRedisStore(url);
  throw new O3Error('bad_request', `The store URL "${url}" is not understood; use ${ACCEPTED}.`);
}
