import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Disruptive tests restart shared services; they run alone afterwards (vitest.disruptive.config.ts).
    exclude: [...configDefaults.exclude, 'test/disruptive/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
