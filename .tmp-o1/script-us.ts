// Scratch: Redis µs per limit-script call, V3 vs V4, on steady-state keys (30/30 sub-buckets), interleaved.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startTestRedis } from '../test/support/redis-server.js';

const server = await startTestRedis();
const redis = new Redis(server.url);
const scripts = {
  V3: await redis.script('LOAD', readFileSync('/tmp/o1-v3.lua', 'utf8')) as string,
  V4: await redis.script('LOAD', readFileSync(new URL('../src/limits/store/limiter.lua', import.meta.url), 'utf8')) as string,
};
const start = Date.UTC(2026, 0, 1);
const STEP = Number(process.env.STEP ?? 5); // ms of fake time per call
const clocks: Record<string, number> = { V3: start, V4: start };
const call = (v: 'V3' | 'V4', t: number) =>
  redis.evalsha(scripts[v], 2, `rl:{${v}}:req:m`, `rl:{${v}}:cost:m`, 'consume', String(t), '0',
    's', '100000000', '1', '0', '60000', '30', 's', '1000000000', '3', '0', '60000', '30');
const usec = async () => {
  const info = await redis.info('commandstats');
  const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(info)!;
  return { calls: Number(m[1]), usec: Number(m[2]) };
};
// Warm: fill a full window of sub-buckets.
for (const v of ['V3', 'V4'] as const) for (let i = 0; i < 70_000 / STEP; i++) { clocks[v] += STEP; await call(v, clocks[v]); }
const results: Record<string, number[]> = { V3: [], V4: [] };
for (let round = 0; round < 6; round++) {
  for (const v of (round % 2 ? ['V4', 'V3'] : ['V3', 'V4']) as ('V3' | 'V4')[]) {
    await redis.config('RESETSTAT');
    for (let i = 0; i < 3000; i++) { clocks[v] += STEP; await call(v, clocks[v]); }
    const { calls, usec: us } = await usec();
    results[v]!.push(us / calls);
  }
}
const info = await redis.info('commandstats'); console.log(info.split('\n').filter((l) => l.startsWith('cmdstat_')).map((l) => l.split(',rejected')[0]).join('\n'));
const fields = { V3: await redis.hlen('rl:{V3}:req:m'), V4: await redis.hlen('rl:{V4}:req:m') };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`STEP ${STEP} ms; fields per key`, fields);
for (const v of ['V3', 'V4']) console.log(v, 'µs per call: median', median(results[v]!).toFixed(1), 'runs', results[v]!.map((x) => x.toFixed(1)).join(' '));
redis.disconnect();
await server.stop();
