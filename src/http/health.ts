import type { FastifyInstance } from 'fastify';

/** A named dependency check for /readyz; resolves when ready, rejects (or times out) otherwise. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Longest a readiness check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 1000;

/**
 * `/healthz`: the process is alive (no dependency is consulted, so an orchestrator does not
 * restart a gateway because Redis is down). `/readyz`: config is loaded (it is, or the process
 * would not have started) and every configured dependency answers; 503 with the failing names
 * otherwise, so a load balancer stops sending traffic.
 */
export function registerHealthRoutes(app: FastifyInstance, checks: ReadinessCheck[]): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, `failed: ${error instanceof Error ? error.message : String(error)}`] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: { config: 'ok', ...Object.fromEntries(results) } });
  });
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
