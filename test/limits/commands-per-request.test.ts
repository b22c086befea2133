import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { SETTLE_CARRY_MS } from '../../src/limits/limiter.js';
import { eventually } from '../support/eventually.js';
import { heldIn } from '../support/sliding-key.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { useRedisWatch } from '../support/redis-watch.js';

/**
 * What a request with limits on costs in Redis when it makes its own check (no lease): exactly
 * one command, the limit script, also when
 * it settles after its response (a cost refund, its response bytes): the next check of the tenant
 * carries the settle in the same script call. Counted over every connection of a real gateway
 * process with MONITOR (top-level commands; those the script runs come from `lua`), and
 * cross-checked with INFO commandstats, where the script's own commands count too.
 */

/** Estimated 23 (search 2 + 10 products x inventory 2 + 1), actual 3: no product matches. */
const REFUND_QUERY = '{ products(search: "no-such-product", first: 10) { id inventory { __typename } } }';
const ESTIMATE = 23;
const ACTUAL = 3;
/** Settles nothing: estimate = actual (1), and the plan without a byte budget. */
const PLAIN_QUERY = '{ viewer { clientId } }';

/** Commands a limit script call runs inside Redis (they appear in INFO commandstats too). */
const SCRIPT_COMMANDS = new Set(['time', 'incr', 'hmget', 'hget', 'hgetall', 'hset', 'hdel', 'del', 'pexpire', 'hincrby']);

const watch = useRedisWatch();
const { sent } = watch;

/**
 * A gateway whose Redis traffic is only its requests': usage metering and the field cache off,
 * heartbeat, epoch check, overrides poll and billing poll once a minute (after the start).
 */
function startGateway(limits: Record<string, unknown>, leases: Record<string, unknown> = { enabled: false }): Promise<GatewayProcess> {
  return startGatewayProcess({
    redisUrl: watch.redis.url,
    patch: (config) => {
      config.plans.enterprise.limits = { requestsPerDay: 'unlimited', requestsPerMonth: 'unlimited', maxOperationCost: 50_000, ...limits };
      // Leases off unless asked: each request here makes its own check (leases.test.ts counts what leases save).
      config.limits = { storeTimeoutMs: 1000, instanceHeartbeatMs: 60_000, overridesPollMs: 60_000, leases };
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

/** Limit script calls (EVALSHA of limiter.lua, or EVAL, its first on a connection: its keys are `rl:{initech}:...`) among `sent`. */
const limiterCalls = () => sent.filter((c) => (c.command === 'evalsha' || c.command === 'eval') && c.args.some((a) => a.startsWith('rl:{initech}:')));
/** A limit call's mode (ARGV[1]), and for a lease call the tokens it asked for and the bytes per request it reserves (its 1st and 5th lease ARGV). */
function modeOf(call: { args: string[] }): string {
  const keys = Number(call.args[1]);
  const mode = call.args[2 + keys]!;
  if (mode !== 'lease') return mode;
  const leaseArgs = call.args.slice(-5);
  return `lease ${leaseArgs[0]} x ${leaseArgs[4]} B`;
}
/** How many settles (adjustments) the limit call carried: ARGV[3] (after sha, numkeys, keys, mode, clock). */
function carried(call: { args: string[] }): number {
  const keys = Number(call.args[1]);
  return Number(call.args[2 + keys + 2]);
}

describe('a request with limits on costs one Redis command', () => {
  let gateway: GatewayProcess;
  afterAll(async () => {
    await gateway?.close();
  });

  it('with nothing to settle: the check, and nothing else', async () => {
    gateway = await startGateway({ requestsPerMinute: 1000, costPerMinute: 100_000, responseBytesPerHour: 'unlimited' });
    // The first check loads the script (NOSCRIPT, then EVAL); from then on it is cached.
    expect((await post(gateway, PLAIN_QUERY)).status).toBe(200);
    await watch.drained();
    watch.clear();
    const before = await watch.commandstats();

    for (let i = 0; i < 5; i++) expect((await post(gateway, PLAIN_QUERY)).status).toBe(200);
    await watch.drained();

    expect(sent.map((c) => c.command)).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
    expect(limiterCalls().map(carried)).toEqual([0, 0, 0, 0, 0]);
    // INFO commandstats agrees: 5 script calls, and otherwise only what the script runs inside.
    const delta = await watch.commandstatsSince(before);
    expect(delta.get('evalsha')).toBe(5);
    expect([...delta.keys()].filter((c) => c !== 'evalsha' && c !== 'echo' && c !== 'ping' && !SCRIPT_COMMANDS.has(c))).toEqual([]);
    // Nothing waits to be settled: a second later there is still nothing more.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_CARRY_MS + 500));
    await watch.drained();
    expect(sent).toHaveLength(5);
  }, 30_000);
});

describe('a request that settles after its response (refund, response bytes)', () => {
  let gateway: GatewayProcess;
  afterAll(async () => {
    await gateway?.close();
  });

  it('costs one command: the next check carries its settle, and the totals are exact after it', async () => {
    gateway = await startGateway({ requestsPerMinute: 1000, costPerMinute: 100_000, responseBytesPerHour: 1_000_000_000_000 });
    const warm = await post(gateway, PLAIN_QUERY);
    expect(warm.status).toBe(200);
    // Let the warm-up's own settle (its bytes) go out on its own, then start counting.
    await eventually(async () => (await heldIn(watch.stats, 'rl:{initech}:bytes:h')) === warm.bytes, SETTLE_CARRY_MS + 4000);
    expect(await heldIn(watch.stats, 'rl:{initech}:bytes:h')).toBe(warm.bytes);
    await watch.drained();
    watch.clear();
    const costBefore = await heldIn(watch.stats, 'rl:{initech}:cost:m');
    const before = await watch.commandstats();

    const first = await post(gateway, REFUND_QUERY);
    expect(first.status).toBe(200);
    expect(first.body.extensions.cost).toMatchObject({ requested: ESTIMATE, actual: ACTUAL });
    await watch.drained();
    // One command so far: the check, charging the estimate; refund and bytes wait.
    expect(limiterCalls().map(carried)).toEqual([0]);
    expect(await heldIn(watch.stats, 'rl:{initech}:cost:m')).toBe(costBefore + ESTIMATE);

    const second = await post(gateway, REFUND_QUERY);
    expect(second.status).toBe(200);
    await watch.drained();
    // Still one command per request: the second check carried the first's refund and bytes.
    expect(sent.map((c) => c.command)).toEqual(['evalsha', 'evalsha']);
    expect(limiterCalls().map(carried)).toEqual([0, 2]);
    expect(await heldIn(watch.stats, 'rl:{initech}:cost:m')).toBe(costBefore + ACTUAL + ESTIMATE);
    expect(await heldIn(watch.stats, 'rl:{initech}:bytes:h')).toBe(warm.bytes + first.bytes);
    // The second request's remaining budget already counted the first one's refund.
    expect(second.body.extensions.cost.limit.remaining).toBe(100_000 - (costBefore + ACTUAL + ESTIMATE));

    // The last request's settle, with no check to carry it, goes out on its own within SETTLE_CARRY_MS.
    const flushed = await eventually(async () => (await heldIn(watch.stats, 'rl:{initech}:cost:m')) === costBefore + 2 * ACTUAL, SETTLE_CARRY_MS + 4000);
    expect(flushed).toBe(true);
    await watch.drained();
    expect(sent.map((c) => c.command)).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect(await heldIn(watch.stats, 'rl:{initech}:bytes:h')).toBe(warm.bytes + first.bytes + second.bytes);
    // INFO commandstats: the same three script calls, nothing else sent.
    const delta = await watch.commandstatsSince(before);
    expect(delta.get('evalsha')).toBe(3);
    expect([...delta.keys()].filter((c) => c !== 'evalsha' && c !== 'echo' && c !== 'ping' && !SCRIPT_COMMANDS.has(c))).toEqual([]);
  }, 30_000);

  it('sends a waiting settle on shutdown: nothing is lost when the last request is followed by SIGTERM', async () => {
    await watch.drained();
    watch.clear();
    const [costBefore, bytesBefore] = [await heldIn(watch.stats, 'rl:{initech}:cost:m'), await heldIn(watch.stats, 'rl:{initech}:bytes:h')];
    const last = await post(gateway, REFUND_QUERY);
    expect(last.status).toBe(200);
    const exit = await gateway.close();
    expect(exit.code).toBe(0);
    await watch.drained();
    // The check, then its settle (at shutdown, or by the carry timer if the machine was slow).
    expect(limiterCalls().map(carried)).toEqual([0, 2]);
    expect(await heldIn(watch.stats, 'rl:{initech}:cost:m')).toBe(costBefore + ACTUAL);
    expect(await heldIn(watch.stats, 'rl:{initech}:bytes:h')).toBe(bytesBefore + last.bytes);
  }, 30_000);
});

describe('a request of a byte-budget plan with leases on', () => {
  let gateway: GatewayProcess;
  afterAll(async () => {
    await gateway?.close();
  });

  it('costs a command only when a lease is asked for: none for a request served from a token, none for its settle', async () => {
    // A day quota (counted) and a byte budget, no minute window: the lease lifetime is the configured
    // 30 s, so that no lease (nor the demand that sizes it) runs out during the test, whatever the
    // machine's speed: the calls below then depend only on the order of requests.
    gateway = await startGateway({ requestsPerDay: 1_000_000, responseBytesPerHour: 1_000_000_000_000 }, { lifetimeMs: 30_000 });
    await watch.drained();
    watch.clear();
    const before = await watch.commandstats();
    const sizes = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const answer = await post(gateway, PLAIN_QUERY);
      expect(answer.status).toBe(200);
      sizes.add(answer.bytes);
    }
    await watch.drained();
    // Every response the same size s: each draw of s is exactly what its response needs.
    expect(sizes.size).toBe(1);
    const [size] = [...sizes];
    // 1: checked (no size known yet; the script's first call on the connection, so EVAL); 2: a lease
    // for the 1 request seen before it, reserving s bytes per request (it carries request 1's
    // bytes); 3 drew its token; 4: a lease for 3 (5-7); 6, half of it used: a renewal for 5 (+ its
    // own: 8-13); 10: its renewal for 9 (+1: 14-23); 18: the next, for 17. 20 requests, 6 calls.
    const leases = [1, 3, 5, 9, 17].map((tokens) => `lease ${tokens} x ${size} B`);
    expect(limiterCalls().map(modeOf)).toEqual(['consume', ...leases]);
    expect(sent.map((c) => c.command)).toEqual(['eval', 'evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
    // Only request 1's bytes were ever a settle: leased responses fit their draws.
    expect(limiterCalls().map(carried)).toEqual([0, 1, 0, 0, 0, 0]);
    const delta = await watch.commandstatsSince(before);
    expect(delta.get('eval')).toBe(1);
    expect(delta.get('evalsha')).toBe(5);
    expect([...delta.keys()].filter((c) => c !== 'eval' && c !== 'evalsha' && c !== 'echo' && c !== 'ping' && !SCRIPT_COMMANDS.has(c))).toEqual([]);
    // Redis counts the served bytes plus what the live lease still holds in reserve (its unused draws).
    expect(await heldIn(watch.stats, 'rl:{initech}:bytes:h')).toBeGreaterThanOrEqual(20 * size!);
  }, 60_000);
});
