import type { Store } from '../../src/store/store.js';

/**
 * The store with some of its properties (e.g. `concurrentWrites`) or methods replaced, the rest its
 * own: to watch or break the engine's store calls in a test.
 */
export function storeWith(store: Store, overrides: Partial<Store>): Store {
  return new Proxy(store, {
    get: (target, key) => {
      if (key in overrides) return overrides[key as keyof Store];
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
