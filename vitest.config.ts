import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers (gateway, sample services, redis-server).
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
