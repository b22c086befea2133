import type { GraphQLSchema } from 'graphql';
import { createAuthenticator, type Authenticator } from '../auth/authenticator.js';
import type { Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import type { CostAnalyzer } from '../cost/analyzer.js';
import { createAuthGuard, type AuthGuard } from '../limits/auth-guard.js';
import type { Limiter } from '../limits/limiter.js';
import type { LimitsView } from '../limits/windows.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../stores/redis.js';
import { capsOf } from '../trusted-documents/caps.js';
import { createMemoryTrustedDocumentStore } from '../trusted-documents/memory-store.js';
import { createRedisTrustedDocumentStore } from '../trusted-documents/redis-store.js';
import { createTrustedDocuments, type TrustedDocuments } from '../trusted-documents/registry.js';

export interface DoorChecks {
  trustedDocuments: TrustedDocuments;
  authenticator: Authenticator;
  authGuard: AuthGuard;
}

/** Who is calling (keys and tokens, with failed attempts limited per IP) and which documents a caller may run by id. */
export function createDoorChecks(deps: {
  config: ConfigSource;
  initial: Config;
  redis: RedisClient | null;
  schema: GraphQLSchema;
  costAnalyzer: CostAnalyzer;
  limiter: Limiter;
  limitsView: LimitsView;
  logger: Logger;
}): DoorChecks {
  const { config, redis, limitsView } = deps;
  // Trusted documents: registered by tenant admins, shared through Redis when there is one,
  // capped per tenant by its plan in force (a runtime plan override included).
  const trustedDocuments = createTrustedDocuments({
    store: redis ? createRedisTrustedDocumentStore(redis) : createMemoryTrustedDocumentStore(),
    schema: deps.schema,
    analyzer: deps.costAnalyzer,
    bounds: () => config.current().server.documentLimits,
    caps: (tenantId) => {
      const current = config.current();
      return capsOf(current, limitsView.effective(current, tenantId).planId);
    },
  });
  // A publishable key is public: without rootFields or trustedDocumentsOnly, whoever reads the page
  // may run every operation its role allows. Allowed (a storefront may need it), but said.
  const unbound = deps.initial.publishableKeys.filter((k) => !k.rootFields && !k.trustedDocumentsOnly).map((k) => k.id);
  if (unbound.length > 0)
    deps.logger.warn({ keys: unbound }, 'publishable keys without rootFields or trustedDocumentsOnly may run any operation their role allows');
  const authenticator = createAuthenticator(() => config.current());
  const authGuard = createAuthGuard({ limiter: deps.limiter, perMinute: () => config.current().limits.authFailuresPerIpPerMinute });
  return { trustedDocuments, authenticator, authGuard };
}
