import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each NATS test file starts its own server; two cores do not need more workers than that.
    maxWorkers: 2,
  },
});
