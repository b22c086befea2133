import type { Redis } from 'ioredis';
import { expect } from 'vitest';

/**
 * What a sliding-window limit key holds in Redis: the sum of its sub-bucket fields
 * (`<sum>:<offset>`, see src/limits/store/ALGORITHM.md) and its running total `t`.
 */
export async function slidingKeyCount(redis: Redis, key: string): Promise<{ sum: number; t: number }> {
  const fields = await redis.hgetall(key);
  const sum = Object.entries(fields)
    .filter(([name]) => /^\d+$/.test(name))
    .reduce((total, [, value]) => total + Number(value.split(':')[0]), 0);
  return { sum, t: Number(fields.t ?? 0) };
}

/** The amount a sliding key holds, asserting that its running total `t` agrees with its sub-buckets. */
export async function heldIn(redis: Redis, key: string): Promise<number> {
  const { sum, t } = await slidingKeyCount(redis, key);
  expect(t).toBe(sum);
  return sum;
}
