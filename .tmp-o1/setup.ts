import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startTestRedis } from '../test/support/redis-server.js';
const server = await startTestRedis();
const redis = new Redis(server.url);
const setup = await redis.script('LOAD', readFileSync(process.env.LUA!, 'utf8')) as string;
const args = (t: number) => ['consume', String(t), '0', 's', '100000000', '1', '0', '60000', '30', 's', '1000000000', '3', '0', '60000', '30'];
let t = Date.UTC(2026, 0, 1);
for (let r = 0; r < 3; r++) {
  await redis.config('RESETSTAT');
  for (let i = 0; i < 3000; i++) { t += 5; await redis.evalsha(setup, 2, 'rl:{a}:req:m', 'rl:{a}:cost:m', ...args(t)); }
  console.log((await redis.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_evalsha')).join());
}
redis.disconnect(); await server.stop();
