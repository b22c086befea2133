import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { hasTenant } from '../auth/principal.js';
import type { AuthGuard } from '../limits/auth-guard.js';
import { GatewayError } from '../errors/gateway-error.js';
import { STORE_RETRY_AFTER_SECONDS, StoreUnavailableError, storeCall } from '../errors/store-unavailable.js';
import { usageRange, asUserInput } from '../resolvers/usage-range.js';
import { historyToCsv } from '../usage/csv.js';
import type { UsageStore } from '../usage/store.js';
import { authenticateHook } from './authenticate-hook.js';
import { sendError } from './error-body.js';

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
 * query it is not counted against the plan.
 */
export function registerUsageCsv(app: FastifyInstance, deps: { authenticator: Authenticator; authGuard: AuthGuard; usage: UsageStore }): void {
  app.get<{ Querystring: CsvQuery }>(
    '/usage.csv',
    { onRequest: authenticateHook(deps.authenticator, deps.authGuard) },
    async (request: FastifyRequest<{ Querystring: CsvQuery }>, reply: FastifyReply) => {
      const principal = request.principal!;
      if (!hasTenant(principal)) return sendError(reply, 'FORBIDDEN', 'Platform-admin keys have no tenant usage; use a tenant API key.');
      const q = request.query;
      const granularity = (q.granularity ?? 'hour').toUpperCase();
      try {
        if (!GRANULARITIES.has(granularity)) throw new GatewayError('BAD_USER_INPUT', `granularity must be one of minute, hour, day, month: "${q.granularity}"`);
        const range = usageRange(granularity as 'HOUR', q.from, q.to);
        const points = await asUserInput(
          storeCall('usage', 'Usage history is unavailable: its store cannot be reached.', deps.usage.history({ tenantId: principal.tenantId, ...range, ...(q.client ? { client: q.client } : {}), ...(q.rootField ? { rootField: q.rootField } : {}) })),
        );
        const name = `usage-${principal.tenantId}-${range.granularity}.csv`;
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'private, no-store').send(historyToCsv(points));
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
