import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { hasTenant } from '../auth/principal.js';
import type { AuthGuard } from '../limits/auth-guard.js';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { rateLimitHeaders } from '../limits/headers.js';
import type { Limiter } from '../limits/limiter.js';
import { usageCap } from '../limits/request-charge.js';
import { limitsUnavailableError, rateLimitedError } from '../limits/rate-limit-error.js';
import type { LimitsView } from '../limits/windows.js';
import { STORE_RETRY_AFTER_SECONDS, StoreUnavailableError, storeCall } from '../errors/store-unavailable.js';
import { usageRange, asUserInput } from '../resolvers/usage-range.js';
import { historyToCsv } from '../usage/csv.js';
import type { UsageStore } from '../usage/store.js';
import { authenticateHook } from './authenticate-hook.js';
import { corsStep } from './cors.js';
import { doorHook } from './door-steps.js';
import { assertMaySeeKey, assertUsageExportAllowed } from '../auth/publishable-policy.js';
import { sendError, sendGatewayError } from './error-body.js';
import { originHook } from './origin-hook.js';

interface CsvQuery {
  granularity?: string;
  from?: string;
  to?: string;
  client?: string;
  rootField?: string;
}

const GRANULARITIES = new Set(['MINUTE', 'HOUR', 'DAY', 'MONTH']);

/**
 * `GET /usage.csv?granularity=hour&from=...&to=...[&client=...][&rootField=...]` with the same
 * bearer key as /graphql: the caller's tenant's history as CSV, for reports. Like the `usage`
 * query it is not counted against the plan but against the usage-query cap
 * (`limits.usageQueriesPerMinute`), and answers with that policy's rate-limit headers.
 */
export function registerUsageCsv(
  app: FastifyInstance,
  deps: { authenticator: Authenticator; authGuard: AuthGuard; usage: UsageStore; limiter: Limiter; limitsView: LimitsView; config: () => Config },
): void {
  app.get<{ Querystring: CsvQuery }>(
    '/usage.csv',
    { onRequest: doorHook([corsStep(deps.config), authenticateHook(deps.authenticator, deps.authGuard), originHook(deps.config)]) },
    async (request: FastifyRequest<{ Querystring: CsvQuery }>, reply: FastifyReply) => {
      const principal = request.principal!;
      if (!hasTenant(principal)) return sendError(reply, 'FORBIDDEN', 'Platform-admin keys have no tenant usage; use a tenant API key.');
      // One policy for every route: what a publishable key may not ask GraphQL, it may not download.
      try {
        assertUsageExportAllowed(principal);
        if (request.query.client) assertMaySeeKey(principal, request.query.client);
      } catch (error) {
        if (error instanceof GatewayError) return sendGatewayError(reply, error);
        throw error;
      }
      // Counted, like the `usage` query, against the tenant's usage-query cap (not its plan);
      // service tokens bypass every limit.
      if (principal.kind !== 'service') {
        const config = deps.config();
        const effective = deps.limitsView.effective(config, principal.tenantId);
        const cap = usageCap(principal.tenantId, config.limits.usageQueriesPerMinute);
        const { decision, source } = await deps.limiter.consume([cap.store], effective.onStoreFailure);
        if (source === 'unavailable') {
          const error = limitsUnavailableError(effective, 1, config.limits.documentationUrl);
          return sendGatewayError(reply, error);
        }
        reply.headers(rateLimitHeaders([cap], decision.results, decision.now));
        if (!decision.allowed) {
          const error = rateLimitedError({
            planName: effective.planName,
            planId: effective.planId,
            dimension: cap,
            result: decision.results[0]!,
            documentationUrl: config.limits.documentationUrl,
          });
          return sendGatewayError(reply, error);
        }
      }
      const q = request.query;
      const granularity = (q.granularity ?? 'hour').toUpperCase();
      try {
        if (!GRANULARITIES.has(granularity))
          throw new GatewayError('BAD_USER_INPUT', `granularity must be one of minute, hour, day, month: "${q.granularity}"`);
        const range = usageRange(granularity as 'HOUR', q.from, q.to);
        const points = await asUserInput(
          storeCall(
            'usage',
            'Usage history is unavailable: its store cannot be reached.',
            deps.usage.history({
              tenantId: principal.tenantId,
              ...range,
              ...(q.client ? { client: q.client } : {}),
              ...(q.rootField ? { rootField: q.rootField } : {}),
            }),
          ),
        );
        const name = `usage-${principal.tenantId}-${range.granularity}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .header('cache-control', 'private, no-store')
          .send(historyToCsv(points));
      } catch (err) {
        if (err instanceof GatewayError && err.code === 'BAD_USER_INPUT') return sendError(reply, 'BAD_USER_INPUT', err.message);
        if (err instanceof StoreUnavailableError) {
          reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
          return sendError(reply, 'STORE_UNAVAILABLE', err.message, err.extensions);
        }
        throw err;
      }
    },
  );
}
