import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { slotOf } from '../../src/stores/slots.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { startTestCluster, type TestCluster } from '../support/redis-cluster.js';
import { maxInWindow, outageBound, saturate, type Decision } from '../support/saturation.js';

/**
 * exactness.test.ts on a Redis Cluster: four gateway instances, each its own process, on a real
 * 3-master cluster with one replica per master, saturated by 64 client loops for 34 s on one key
 * (acme's). 10 s in, acme's master is failed over by hand (CLUSTER FAILOVER on its replica: no
 * write lost); 22 s in, the new master is killed (SIGKILL) and its replica takes over after the
 * cluster's node timeout (1 s). Limit: 100 per rolling 10 s on a root field, as exactness.test.ts.
 */
const LIMIT = 100;
const WINDOW_MS = 10_000;
const INSTANCES = 4;

let cluster: TestCluster;
const gateways: GatewayProcess[] = [];
const marks: Record<string, number> = {};
let decisions: Decision[] = [];
let errors = 0;
/** acme's master before the manual failover, before the kill, and at the end. */
const owners: number[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ replicas: 1 });
  for (let i = 0; i < INSTANCES; i++) {
    gateways.push(
      await startGatewayProcess({
        env: { REDIS_CLUSTER_NODES: cluster.seeds },
        patch: (config) => {
          config.plans.free.limits = { fieldLimits: { 'Query.viewer': { limit: LIMIT, windowSeconds: WINDOW_MS / 1000 } } };
          config.limits = { decisionHeader: true, instanceHeartbeatMs: 500, storeTimeoutMs: 1000 };
          config.usage = { enabled: false };
        },
      }),
    );
  }
  // Each instance serves at once, deciding locally until its cluster client has loaded the slot
  // map and read the epoch markers: the run starts once all decide through the cluster.
  for (const gateway of gateways) {
    const shared = await eventually(async () => {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
        body: JSON.stringify({ query: '{ viewer { clientId } }' }),
      });
      return response.headers.get('x-ratelimit-decision')?.startsWith('shared;') === true;
    }, 15_000);
    if (!shared) throw new Error('gateway never decided through the cluster');
  }
  const slot = slotOf('acme');
  const run = await saturate({
    urls: gateways.map((g) => g.url),
    clients: 64,
    token: DEMO_TOKENS.acmeAdmin,
    query: '{ viewer { clientId } }',
    durationMs: 34_000,
    events: [
      {
        atMs: 10_000,
        run: async () => {
          owners.push((await cluster.ownerOf(slot)).port);
          const replica = await cluster.replicaOf(owners[0]!);
          marks.manual = Date.now();
          const client = cluster.connect(replica.port);
          try {
            await client.cluster('FAILOVER');
          } finally {
            client.disconnect();
          }
        },
      },
      {
        atMs: 22_000,
        run: async () => {
          // The master after the manual failover (it completes within a second or two).
          const master = await cluster.ownerOf(slot);
          owners.push(master.port);
          marks.killed = Date.now();
          await cluster.kill(master.port);
        },
      },
    ],
  });
  decisions = run.decisions;
  errors = run.errors;
  await cluster.waitHealthy();
  owners.push((await cluster.ownerOf(slot)).port);
}, 180_000);

afterAll(async () => {
  const exits = await Promise.all(gateways.map((g) => g.close()));
  expect(exits).toEqual(gateways.map(() => ({ code: 0, signal: null })));
  await cluster?.stop();
});

/**
 * When every instance's decisions are shared again after `from` (and before `to`): the first
 * shared decision, after its last local one, of the last instance to get there.
 */
function backOnRedis(from: number, to = Infinity): number {
  let latest = from;
  for (let instance = 0; instance < INSTANCES; instance++) {
    const mine = decisions.filter((d) => d.instance === instance && d.t >= from && d.t < to);
    const lastLocal = mine.filter((d) => d.source !== 'shared').at(-1);
    const firstSharedAfter = mine.find((d) => d.source === 'shared' && (!lastLocal || d.t > lastLocal.t));
    latest = Math.max(latest, firstSharedAfter?.t ?? Infinity);
  }
  return latest;
}

describe('four saturated instances on a Redis Cluster, through two master failovers', () => {
  it("went through both failovers: acme's slot moved to the replica each time", () => {
    // (The killed master's replica is the original master, demoted by the manual failover.)
    expect(owners).toHaveLength(3);
    expect(owners[1]).not.toBe(owners[0]);
    expect(owners[2]).not.toBe(owners[1]);
  });

  it('answered every request, never with a 5xx, and were really saturated', () => {
    expect(errors).toBe(0);
    expect(decisions.filter((d) => d.status >= 500)).toEqual([]);
    expect(decisions.filter((d) => d.status === 429).length).toBeGreaterThan(10 * decisions.filter((d) => d.status === 200).length);
  });

  it('admits exactly the limit in the fullest rolling window before the failovers: never more, and all of it', () => {
    expect(maxInWindow(decisions, WINDOW_MS, { to: marks.manual! })).toBe(LIMIT);
  });

  it('is back on Redis within a few seconds of each failover, on every instance', () => {
    const afterManual = backOnRedis(marks.manual!, marks.killed!) - marks.manual!;
    const afterKill = backOnRedis(marks.killed!) - marks.killed!;
    console.log(
      `cluster failover: decisions shared again on all ${INSTANCES} instances ${afterManual} ms after CLUSTER FAILOVER, ${afterKill} ms after the master was killed; local decisions ${decisions.filter((d) => d.source === 'local').length} of ${decisions.length}`,
    );
    // Measured 0-1.9 s (manual: often no local decision at all) and 3.5-5 s (killed: 1 s node
    // timeout, election, slot refresh, 1 s settle) on a 2-core machine; up to 5-6 s while other
    // suites load it.
    expect(afterManual).toBeLessThanOrEqual(8000);
    expect(afterKill).toBeLessThanOrEqual(8000);
    // Nothing local outside the two failovers' spans.
    const outside = decisions.filter(
      (d) =>
        d.source !== 'shared' && !((d.t >= marks.manual! && d.t <= marks.manual! + afterManual) || (d.t >= marks.killed! && d.t <= marks.killed! + afterKill)),
    );
    expect(outside).toEqual([]);
  });

  it('serves the field cache again after the failovers, on every instance', async () => {
    const query = JSON.stringify({ query: '{ product(id: "prd_2") { name } }' });
    const cacheOf = async (url: string) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
        body: query,
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as any).extensions?.cache?.fields?.product as string | undefined;
    };
    for (const gateway of gateways) expect(await eventually(async () => (await cacheOf(gateway.url)) === 'HIT', 10_000)).toBe(true);
  });

  it('stays within the stated bound across both failovers', () => {
    const manual = outageBound(decisions, { outageAt: marks.manual!, limit: LIMIT, windowMs: WINDOW_MS, instances: INSTANCES, divisor: INSTANCES });
    const killed = outageBound(decisions, { outageAt: marks.killed!, limit: LIMIT, windowMs: WINDOW_MS, instances: INSTANCES, divisor: INSTANCES });
    const worst = maxInWindow(decisions, WINDOW_MS);
    console.log(
      `cluster exactness: max in any ${WINDOW_MS / 1000} s window ${worst} (limit ${LIMIT}); before the failovers ${maxInWindow(decisions, WINDOW_MS, { to: marks.manual! })}; bounds manual ${JSON.stringify(manual)}, killed ${JSON.stringify(killed)}; decisions ${decisions.length}`,
    );
    expect(manual.stale + killed.stale).toBe(0);
    // The failovers are 12 s apart: no 10 s window holds the effects of both. (A failover is seen
    // by the instances one by one, a partial outage for a moment, so the bound is not as tight as
    // for a Redis that stops for everyone at once; the fullest window is what users get.)
    expect(worst).toBeLessThanOrEqual(Math.max(manual.bound, killed.bound));
  });
});
