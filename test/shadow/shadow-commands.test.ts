import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { heldIn } from '../support/sliding-key.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { useRedisWatch } from '../support/redis-watch.js';

/**
 * A shadow adds no Redis command: a request of a shadowed tenant still costs exactly one, its limit
 * check, which carries the shadow group (and, for the next request, the settle of the shadow's
 * counters with the enforced ones'). Counted as test/limits/commands-per-request.test.ts counts
 * them: MONITOR over every connection of a real gateway process, cross-checked with INFO
 * commandstats (where the script's own commands count too).
 */

/** Estimated 23, actual 3: no product matches (see commands-per-request.test.ts). */
const REFUND_QUERY = '{ products(search: "no-such-product", first: 10) { id inventory { __typename } } }';
const PLAIN_QUERY = '{ viewer { clientId } }';
/** Commands a limit script call runs inside Redis; a shadow's record adds HSETNX. */
const SCRIPT_COMMANDS = new Set(['time', 'incr', 'hmget', 'hget', 'hgetall', 'hset', 'hsetnx', 'hdel', 'del', 'pexpire', 'hincrby']);

const watch = useRedisWatch();
const { sent } = watch;

/** A gateway whose Redis traffic is only its requests' (as commands-per-request.test.ts), initech's plan with a shadow. */
function startGateway(shadow: Record<string, unknown>): Promise<GatewayProcess> {
  return startGatewayProcess({
    redisUrl: watch.redis.url,
    patch: (config) => {
      config.plans.enterprise.limits = {
        requestsPerDay: 'unlimited',
        requestsPerMonth: 'unlimited',
        maxOperationCost: 50_000,
        requestsPerMinute: 1000,
        costPerMinute: 100_000,
        responseBytesPerHour: 1_000_000_000_000,
      };
      config.plans.enterprise.shadow = shadow;
      config.limits = { storeTimeoutMs: 1000, instanceHeartbeatMs: 60_000, overridesPollMs: 60_000, leases: { enabled: false } };
      config.billing = { ...config.billing, pollMs: 60_000 };
      config.usage = { enabled: false };
      config.cache = { enabled: false };
    },
  });
}

async function post(gateway: GatewayProcess, query: string): Promise<{ status: number; bytes: number; body: any }> {
  const response = await request(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
    body: JSON.stringify({ query }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, bytes: Buffer.byteLength(text), body: JSON.parse(text) };
}

/** How many settles a limit call carried: ARGV[3] (after sha, numkeys, keys, mode, clock). */
const carried = (call: { args: string[] }) => Number(call.args[2 + Number(call.args[1]) + 2]);
/** Whether a limit call carried a shadow group: its ARGV end in 'shadow', S. */
const carriesShadow = (call: { args: string[] }) => call.args.at(-2) === 'shadow';

const others = (delta: Map<string, number>) => [...delta.keys()].filter((c) => c !== 'evalsha' && c !== 'echo' && c !== 'ping' && !SCRIPT_COMMANDS.has(c));

/** The shadow's key of `suffix` (`cost:m`), found by pattern: its id is a hash of its limits. */
async function shadowKey(suffix: string): Promise<string> {
  const keys = await watch.stats.keys(`rl:{initech}:shadow:*:${suffix}`);
  expect(keys).toHaveLength(1);
  return keys[0]!;
}

describe('a shadowed tenant’s request costs one Redis command', () => {
  let gateway: GatewayProcess;
  afterAll(async () => {
    await gateway?.close();
  });

  it('the check carries the shadow, would-be refusals included: nothing else is sent', async () => {
    // 3 a minute in shadow: of the 6 requests below, 3 would have been refused.
    gateway = await startGateway({ limits: { requestsPerMinute: 3 } });
    expect((await post(gateway, PLAIN_QUERY)).status).toBe(200);
    await watch.drained();
    watch.clear();
    const before = await watch.commandstats();

    for (let i = 0; i < 5; i++) expect((await post(gateway, PLAIN_QUERY)).status).toBe(200);
    await watch.drained();

    expect(sent.map((c) => c.command)).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
    expect(sent.every(carriesShadow)).toBe(true);
    const delta = await watch.commandstatsSince(before);
    expect(delta.get('evalsha')).toBe(5);
    expect(others(delta)).toEqual([]);
    expect(await watch.stats.hget(await shadowKey('refused'), 'initech-admin|minute|n')).toBe('3');
  }, 30_000);
});

describe('a shadowed tenant’s settle', () => {
  let gateway: GatewayProcess;
  afterAll(async () => {
    await gateway?.close();
  });

  it('rides on the next check with the enforced one: refund and bytes on both counters, one command per request', async () => {
    // The first test's shadow (another id) leaves its keys: only this one's are looked for.
    const earlier = await watch.stats.keys('rl:{initech}:shadow:*');
    if (earlier.length > 0) await watch.stats.del(...earlier);
    gateway = await startGateway({ limits: { costPerMinute: 50_000 } });
    const warm = await post(gateway, PLAIN_QUERY);
    expect(warm.status).toBe(200);
    // The warm-up's own settle (its bytes) goes out on its own first.
    await eventually(async () => (await heldIn(watch.stats, 'rl:{initech}:bytes:h')) === warm.bytes, 5000);
    const shadowCost = await shadowKey('cost:m');
    const shadowBytes = await shadowKey('bytes:h');
    expect(await eventually(async () => (await heldIn(watch.stats, shadowBytes)) === warm.bytes, 5000)).toBe(true);
    await watch.drained();
    watch.clear();
    const costBefore = await heldIn(watch.stats, 'rl:{initech}:cost:m');
    const shadowBefore = await heldIn(watch.stats, shadowCost);
    const before = await watch.commandstats();

    const first = await post(gateway, REFUND_QUERY);
    const second = await post(gateway, REFUND_QUERY);
    expect([first.status, second.status]).toEqual([200, 200]);
    await watch.drained();
    // The second check carried the first's refund and bytes, enforced and shadow: 4 settles.
    expect(sent.map((c) => c.command)).toEqual(['evalsha', 'evalsha']);
    expect(sent.map(carried)).toEqual([0, 4]);
    expect(await heldIn(watch.stats, 'rl:{initech}:cost:m')).toBe(costBefore + 3 + 23);
    expect(await heldIn(watch.stats, shadowCost)).toBe(shadowBefore + 3 + 23);
    expect(await heldIn(watch.stats, shadowBytes)).toBe(warm.bytes + first.bytes);
    const delta = await watch.commandstatsSince(before);
    expect(delta.get('evalsha')).toBe(2);
    expect(others(delta)).toEqual([]);
  }, 30_000);
});
