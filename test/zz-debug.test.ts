import { it } from 'vitest';
import { startTestCluster } from './support/redis-cluster.js';
import { startTestGateway } from './support/gateway.js';
import { DEMO_TOKENS } from '../src/config/demo.js';
import { createLogger } from '../src/observability/logger.js';
it('debug', async () => {
  const cluster = await startTestCluster();
  const logger = createLogger({ level: 'debug' });
  const patch = (config: any) => { config.plans.free.limits = { requestsPerMinute: 10 }; config.limits = { decisionHeader: true, instanceHeartbeatMs: 200, storeTimeoutMs: 1000, storeBreakerHalfOpenMs: 200 }; };
  const gs = await Promise.all([1,2].map(() => startTestGateway({ env: { REDIS_CLUSTER_NODES: cluster.seeds }, patch, logger })));
  const rs = await Promise.all(Array.from({ length: 14 }, (_, i) => gs[i % 2]!.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')));
  console.log(rs.map(r => r.status + ' ' + r.headers.get('x-ratelimit-decision')));
  await new Promise(r => setTimeout(r, 2000));
  const u = await gs[1]!.gql(DEMO_TOKENS.acmeAdmin, '{ usage { summary(granularity: MINUTE) { requests throttled } } }');
  console.log(JSON.stringify(u.body));
  await Promise.all(gs.map(g => g.close())); await cluster.stop();
}, 60000);
