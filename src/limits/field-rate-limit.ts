import type { GraphQLSchema } from 'graphql';
import type { RedisClient } from '../stores/redis.js';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import { RateLimiterMemory, RateLimiterRedis, type IRateLimiterRedisOptions } from 'rate-limiter-flexible';
import { hasTenant } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayContext } from '../graph/context.js';

const KEY_PREFIX = 'rl:field';

/**
 * `@rateLimit(limit, duration)` from the schema (declared in schema/rate-limit.graphql), enforced
 * by graphql-rate-limit-directive per tenant and field: keys `rl:field:{tenant}:Type.field`, in
 * Redis when configured (a connection with a command timeout: the library has none of its own).
 * Each Redis limiter carries an in-memory insurance limiter with this instance's share of the
 * limit (limit / `divisor()` at start, as the plan limits' fallback), so a Redis outage degrades
 * to per-instance counting that stays within the limit across the fleet, instead of failing the
 * field. Service tokens and principals without a tenant consume nothing (0 points).
 */
export function fieldRateLimitTransformer(options: {
  redis: RedisClient | null;
  divisor: () => number;
  documentationUrl: () => string;
}): (schema: GraphQLSchema) => GraphQLSchema {
  const { redis } = options;

  // The directive creates one limiter per (limit, duration); this class gives each its insurance.
  class InsuredRedisLimiter extends RateLimiterRedis {
    constructor(opts: IRateLimiterRedisOptions) {
      const share = Math.floor((opts.points ?? 0) / Math.max(1, options.divisor()));
      super({ ...opts, storeClient: redis, insuranceLimiter: new RateLimiterMemory({ points: share, duration: opts.duration, keyPrefix: KEY_PREFIX }) });
    }
  }

  const { rateLimitDirectiveTransformer } = rateLimitDirective<GatewayContext, IRateLimiterRedisOptions>({
    keyGenerator: (_args, _source, _fieldArgs, context, info) =>
      `{${hasTenant(context.principal) ? context.principal.tenantId : 'none'}}:${info.parentType.name}.${info.fieldName}`,
    pointsCalculator: (_args, _source, _fieldArgs, context) => (hasTenant(context.principal) && context.principal.kind !== 'service' ? 1 : 0),
    limiterClass: redis ? InsuredRedisLimiter : RateLimiterMemory,
    // storeClient is replaced by the subclass; the memory limiter ignores it.
    limiterOptions: { keyPrefix: KEY_PREFIX, storeClient: redis },
    onLimit: (response, directiveArgs, _source, _args, _context, info) => {
      const retryAfterSeconds = Math.max(1, Math.ceil(response.msBeforeNext / 1000));
      const field = `${info.parentType.name}.${info.fieldName}`;
      throw new GatewayError(
        'RATE_LIMITED',
        `Rate limit exceeded: ${field} allows ${directiveArgs.limit} calls per ${directiveArgs.duration} s per tenant. Retry in ${retryAfterSeconds} s.`,
        {
          extensions: {
            dimension: 'field',
            policy: field,
            limit: directiveArgs.limit,
            window: `${directiveArgs.duration} seconds`,
            retryAfterSeconds,
            resetAt: new Date(Date.now() + response.msBeforeNext).toISOString(),
            documentation: `${options.documentationUrl()}#fields`,
          },
        },
      );
    },
  });
  return rateLimitDirectiveTransformer;
}
