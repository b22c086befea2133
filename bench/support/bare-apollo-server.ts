import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import { makeExecutableSchema } from '@graphql-tools/schema';
import Fastify from 'fastify';
import type { PlanInForce } from '../../src/billing/plan-in-force.js';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { SERVICE_NAMES, type ServiceName } from '../../src/config/schema.js';
import { createDownstream } from '../../src/downstream/downstream.js';
import type { GatewayContext } from '../../src/graph/context.js';
import { lazyLoaders } from '../../src/graph/lazy-loaders.js';
import { loadSchemaSdl } from '../../src/graph/load-schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSampleServices } from '../../src/sample-services/start.js';
import { RESOLVER_MAPS } from '../../src/wiring/build-schema.js';

/**
 * The overhead bench's baseline (`npm run bench -- overhead`): the project's schema, resolvers,
 * per-request loaders and embedded sample services behind a bare Apollo Server 5 on Fastify, with
 * nothing of the gateway's on the request path: no hooks, no plugin but Apollo's drain, no
 * directive transformers (@auth, @rateLimit, @cached resolve as plain fields), no authentication.
 * Every request acts as the API key `BARE_CLIENT_ID` (default `initech-admin`), looked up once at
 * start: what a bare server without our door would know of its caller.
 *
 * Run as a process of its own (bare-apollo-process.ts starts it), like the gateways it is compared
 * with; prints `bare Apollo ready: <url>/graphql` on stdout.
 */
const logger = createLogger({ level: 'silent' });
const config = await loadConfigFile(DEMO_CONFIG_PATH, { ...process.env, PORT: '0', HOST: '127.0.0.1' });
const clientId = process.env.BARE_CLIENT_ID ?? 'initech-admin';
const key = config.apiKeys.find((k) => k.id === clientId);
if (!key) throw new Error(`BARE_CLIENT_ID names no API key of the demo config: ${clientId}`);
const principal = { kind: 'apiKey', clientId: key.id, tenantId: key.tenant, planId: config.tenants[key.tenant]!.plan, role: key.role } as const;

/** The plan in force as a plain app knows it: the tenant's plan in the config (no overrides, no billing). */
const planInForce: PlanInForce = { planId: principal.planId, source: 'config', expiresAt: null };
const limitsView = { plan: () => planInForce };

const sampleServices = await startSampleServices();
const urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, sampleServices.urls[name]])) as Record<ServiceName, string>;
const downstream = createDownstream({ urls, config: config.downstream, logger });
const schema = makeExecutableSchema({ typeDefs: await loadSchemaSdl(), resolvers: RESOLVER_MAPS });

const app = Fastify({ logger: false });
const apollo = new ApolloServer<GatewayContext>({ schema, plugins: [fastifyApolloDrainPlugin(app)] });
await apollo.start();
app.route({
  method: ['GET', 'POST'],
  url: '/graphql',
  handler: fastifyApolloHandler(apollo, {
    // What a plain Apollo app builds per request: its caller and its own loaders (DataLoader's docs),
    // made on first use as the gateway makes them (graph/lazy-loaders.ts), so that the two differ
    // only in what the gateway adds. Fields the resolvers of `{ viewer ... }` and the tenant
    // queries do not read stay unset.
    context: async () => {
      const requestId = randomUUID();
      return {
        requestId,
        principal,
        config,
        downstream,
        downstreamShare: null,
        loaders: lazyLoaders(downstream, { tenantId: principal.tenantId, requestId }),
        // `viewer { tenant { plan } }` reads the plan in force: a bare app's is its config's.
        limitsView,
        logger,
      } as unknown as GatewayContext;
    },
  }),
});
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as AddressInfo;
console.log(`bare Apollo ready: http://127.0.0.1:${port}/graphql`);

process.once('SIGTERM', () => {
  void (async () => {
    await app.close();
    await downstream.close();
    await sampleServices.close();
    process.exit(0);
  })();
});
