// Tests that disturb shared services (a PostgreSQL restart): run alone, one file at a time, after
// the main suite (`npm test`), so that nothing else runs beside them.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/disruptive/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
