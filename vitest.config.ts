import { defineConfig } from 'vitest/config';

// The workspace's packages resolve to their TypeScript sources under this
// condition (see each package.json's "exports"), in vitest and in every
// process a test starts (they inherit NODE_OPTIONS), built dist/ or not.
const SOURCE_CONDITION = '@agent-team/source';
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--conditions=${SOURCE_CONDITION}`].filter(Boolean).join(' ');

// One JSON report per run so CI can print "N passed, N failed" from it.
export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'], externalConditions: [SOURCE_CONDITION, 'node', 'module-sync'] } },
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
