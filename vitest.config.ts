import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Latency tests (`*.quiet.test.ts`) compare a tenant's latency with its own baseline; other test
 * files running beside them would load the machine unevenly between the two. Replay's
 * faithfulness test is one too: its live decisions interleave across two gateway processes by
 * the millisecond, and a loaded machine makes rare orders (src/replay/REPLAY.md) more common.
 * They run after the rest of the suite, one file at a time.
 */
const QUIET = 'test/**/*.quiet.test.ts';

export default defineConfig({
  // graphql 16 ships CJS (`main`) and ESM (`module`) builds without an `exports` map. Node loads
  // the CJS build for everyone (our code, Apollo, graphql-rate-limit-directive); Vite would pick
  // the ESM build for our code only, and graphql refuses objects from "another realm". Point
  // tests at the build Node uses, so tests run the same modules as production.
  //
  // `experience-gateway/client` (package.json exports) is compiled JavaScript in dist/ for
  // consumers; tests import its TypeScript source (tsconfig.json's customConditions does the
  // same for the typecheck), so they need no build.
  resolve: {
    alias: [
      { find: /^graphql$/, replacement: 'graphql/index.js' },
      { find: /^experience-gateway\/client$/, replacement: fileURLToPath(new URL('./src/client/client.ts', import.meta.url)) },
    ],
  },
  test: {
    // Integration tests start real servers (gateway, sample services, redis-server).
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          // dashboard/test/: the pages' pure logic (exports, forecasts' wording); test/dashboard/: real browser.
          include: ['test/**/*.test.ts', 'dashboard/test/**/*.test.ts'],
          exclude: [QUIET, '**/node_modules/**'],
        },
      },
      { extends: true, test: { name: 'quiet', include: [QUIET], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
