import { defineConfig } from 'vitest/config';

// One JSON report per run so CI can print "N passed, N failed" from it.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    // One test file at a time: the multi-process tests (file and Redis) race
    // real worker processes, and two such files at once oversubscribe the
    // 2-core machines CI runs on, which starves a late-starting worker. One
    // at a time is also faster there (about 85 s against 95-110 s).
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
