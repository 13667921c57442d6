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
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
