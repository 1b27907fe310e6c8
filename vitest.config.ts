import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native modules (argon2, DuckDB) and PGlite's WASM are safest in child processes.
    pool: 'forks',
    maxWorkers: 2,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
