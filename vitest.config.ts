import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sigilo\/protocol$/, replacement: src('./packages/protocol/src/index.ts') },
      { find: /^@sigilo\/protocol\/node$/, replacement: src('./packages/protocol/src/crypto/node.ts') },
      { find: /^@sigilo\/protocol\/portable$/, replacement: src('./packages/protocol/src/crypto/portable.ts') },
      { find: /^@sigilo\/protocol\/pkcs11$/, replacement: src('./packages/protocol/src/pkcs11.ts') },
      { find: /^@sigilo\/protocol\/gen\/(.*?)(\.js)?$/, replacement: src('./packages/protocol/src/gen/') + '$1.ts' },
      { find: /^@sigilo\/client$/, replacement: src('./packages/client/src/index.ts') },
      { find: /^@sigilo\/client-node$/, replacement: src('./packages/client-node/src/index.ts') },
      { find: /^@sigilo\/server$/, replacement: src('./packages/server/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'fuzz/**/*.test.ts'],
    reporters: ['default'],
    // Most files wait on real servers, child processes and Chromium rather than on the CPU, so
    // three run at once even on the two-core machines (vitest's default there is one at a time,
    // which took CI over 30 minutes). SIGILO_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.SIGILO_TEST_WORKERS) || 3,
    minWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll's own default is 1 s: a browser test polling the page for a change it just caused
    // then failed whenever a loaded machine stalled Chromium that long. A poll ends as soon as it matches.
    expect: { poll: { timeout: 10_000 } },
  },
});
