import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';

/**
 * A named dependency check for /readyz; resolves when the dependency answers, rejects (or times
 * out) otherwise. A failed check degrades the instance, it does not make it unready: every
 * dependency the gateway has today can fail while the instance keeps serving correctly (Redis:
 * limits fall back to each instance's share, usage is buffered, the cache is skipped), and
 * pulling every instance out of the load balancer because their shared Redis is down would turn
 * a degraded fleet into a dead one.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface HealthOptions {
  checks: ReadinessCheck[];
  /** Where the `gateway_degraded{check}` gauge goes; none: no gauge. */
  registry?: Registry;
}

/** Longest a readiness check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 1000;
/** Names the failed checks on /readyz responses: `X-Gateway-Degraded: redis`. */
export const DEGRADED_HEADER = 'x-gateway-degraded';

interface Readiness {
  status: 'ready' | 'degraded';
  checks: Record<string, string>;
  /** The failed checks. */
  degraded: string[];
}

/**
 * `/healthz`: the process is alive (no dependency is consulted, so an orchestrator does not
 * restart a gateway because Redis is down).
 *
 * `/readyz`: whether to send this instance traffic. 200 `ready`, or 200 `degraded` with the
 * failed checks in `degraded` and the `X-Gateway-Degraded` header (serving, with reduced
 * guarantees). It stops answering only when the instance cannot serve: once shutdown begins the
 * port is closed (a probe's connection is refused) and a request still arriving on an open
 * keep-alive connection gets Fastify's 503 (`return503OnClosing`), so the load balancer moves on. The config is always loaded: the process does not start
 * without a valid one. The same state is the `gateway_degraded{check}` gauge, evaluated at scrape
 * time.
 */
export function registerHealthRoutes(app: FastifyInstance, options: HealthOptions): void {
  const { checks } = options;

  async function readiness(): Promise<Readiness> {
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
    const degraded = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    return { status: degraded.length > 0 ? 'degraded' : 'ready', checks: { config: 'ok', ...Object.fromEntries(results) }, degraded };
  }

  if (options.registry) {
    new Gauge({
      name: 'gateway_degraded',
      help: 'Per readiness check (check=redis): 1 while it fails and the instance serves degraded, 0 while it answers. Evaluated at scrape time.',
      labelNames: ['check'] as const,
      registers: [options.registry],
      async collect() {
        const state = await readiness();
        for (const { name } of checks) this.set({ check: name }, state.degraded.includes(name) ? 1 : 0);
      },
    });
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const state = await readiness();
    if (state.degraded.length > 0) reply.header(DEGRADED_HEADER, state.degraded.join(', '));
    reply.header('cache-control', 'no-store');
    return reply.status(200).send({ status: state.status, checks: state.checks, ...(state.degraded.length > 0 ? { degraded: state.degraded } : {}) });
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
