import { DEMO_TOKENS } from '../config/demo.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Logger } from '../observability/logger.js';

/** What the demo traffic asks, each a real operation through the whole gateway. */
export const DEMO_TRAFFIC_QUERIES = [
  '{ dashboard { customerCount recentOrders(first: 3) { id total { formatted } } } }',
  '{ products(first: 5) { id name inventory { available } } }',
  '{ customers(first: 5) { edges { node { id name } } } }',
  '{ orders(first: 3) { edges { node { id status } } } }',
  '{ viewer { clientId tenant { displayName } } }',
];

/** Share of the traffic per demo tenant: the free tenant gets little, so its daily quota lasts. */
const TENANT_WEIGHT: Record<string, number> = { acme: 0.04, globex: 0.56, initech: 0.4 };

/**
 * Light live traffic for the embedded demo: every `60 / requestsPerMinute` s one request with a
 * public demo key (only keys this config accepts), to the gateway's own /graphql, so limits,
 * metering and the dashboard move as with real clients. Returns a stop function.
 */
export function startLiveTraffic(deps: { url: string; authenticator: Authenticator; requestsPerMinute: number; logger: Logger }): () => void {
  const tokens = Object.values(DEMO_TOKENS).flatMap((token) => {
    const result = deps.authenticator.authenticate(`Bearer ${token}`);
    if (!result.ok || result.principal.kind === 'platformAdmin') return [];
    return [{ token, weight: (TENANT_WEIGHT[result.principal.tenantId] ?? 0.2) / keysOf(result.principal.tenantId) }];
  });
  function keysOf(tenantId: string): number {
    return Object.values(DEMO_TOKENS).filter((t) => {
      const r = deps.authenticator.authenticate(`Bearer ${t}`);
      return r.ok && r.principal.kind !== 'platformAdmin' && r.principal.tenantId === tenantId;
    }).length;
  }
  if (tokens.length === 0) {
    deps.logger.info('demo traffic: no demo key is valid in this config; none sent');
    return () => {};
  }
  const total = tokens.reduce((sum, t) => sum + t.weight, 0);
  const pick = () => {
    let r = Math.random() * total;
    for (const t of tokens) {
      r -= t.weight;
      if (r < 0) return t.token;
    }
    return tokens[tokens.length - 1]!.token;
  };
  const send = () => {
    const query = DEMO_TRAFFIC_QUERIES[Math.floor(Math.random() * DEMO_TRAFFIC_QUERIES.length)]!;
    fetch(`${deps.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pick()}`, 'x-request-id': `demo-traffic-${Date.now()}` },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(10_000),
    })
      .then((res) => res.arrayBuffer())
      .catch((err: unknown) => deps.logger.debug({ err: (err as Error).message }, 'demo traffic request failed'));
  };
  const timer = setInterval(send, Math.max(10, Math.round(60_000 / deps.requestsPerMinute)));
  timer.unref();
  return () => clearInterval(timer);
}
