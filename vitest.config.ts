import { defineConfig } from 'vitest/config';

// One JSON report per run so CI can print "N passed, N failed" from it.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
