import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startTestRedis } from '../test/support/redis-server.js';
const server = await startTestRedis();
const redis = new Redis(server.url);
const v4 = await redis.script('LOAD', readFileSync(new URL('../src/limits/store/limiter.lua', import.meta.url), 'utf8')) as string;
const trivial = await redis.script('LOAD', 'return {1,2,3,4,5,6,7,8,9,10}') as string;
const hm = await redis.script('LOAD', "local a = redis.call('HMGET', KEYS[1], 't','o','n','1','2'); local b = redis.call('HMGET', KEYS[2], 't','o','n','1','2'); redis.call('HSET', KEYS[1], '5', '3:100', 't', '5'); redis.call('HSET', KEYS[2], '5', '3:100', 't', '5'); return {1,2,3,4,5,6,7,8,9,10}") as string;
const args = (t: number) => ['consume', String(t), '0', 's', '100000000', '1', '0', '60000', '30', 's', '1000000000', '3', '0', '60000', '30'];
let t = Date.UTC(2026, 0, 1);
const stats = async () => (await redis.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_')).map((l) => l.split(',rejected')[0]).join('\n');
for (let i = 0; i < 14000; i++) { t += 5; await redis.evalsha(v4, 2, 'rl:{a}:req:m', 'rl:{a}:cost:m', ...args(t)); }
for (const [name, sha] of [['v4', v4], ['trivial', trivial], ['hmget+hset x2', hm]] as const) {
  await redis.config('RESETSTAT');
  for (let i = 0; i < 3000; i++) { t += 5; await redis.evalsha(sha, 2, 'rl:{a}:req:m', 'rl:{a}:cost:m', ...args(t)); }
  console.log('==', name); console.log(await stats());
}
redis.disconnect(); await server.stop();
