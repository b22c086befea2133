import { describe, expect, it } from 'vitest';
import type { CloseStep } from '../../src/shutdown/close-steps.js';
import { CloseStepsError } from '../../src/shutdown/close-steps.js';
import { WATCHDOG_MARGIN_MS } from '../../src/shutdown/process-shutdown.js';
import { startTestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { useTestRedis } from '../support/redis-server.js';

/**
 * The "shutdown that always ends": whatever a close step does (throws, never returns),
 * every other step still runs and the stop ends by its deadline; whatever the process meets (a
 * Redis that is gone, a log reader that went away or stopped reading), it exits within
 * shutdownGraceMs plus a small margin. On a real redis-server; the process tests run the real
 * stop handler (src/shutdown/process-shutdown.ts) in separate processes.
 */
const redis = useTestRedis();

/** Every close step, in order: a step added to gateway-close.ts must be added here (asserted below). */
const STEPS = [
  'demo-traffic',
  'http',
  'metrics-http',
  'loop-lag',
  'config-watcher',
  'observers',
  'meter',
  'record',
  'calibration',
  'alerts',
  'overrides',
  'plan-audit',
  'metered-billing',
  'billing-store',
  'limiter',
  'instances',
  'downstream',
  'sample-services',
  'cache-store',
  'redis-1',
  'redis-2',
  'redis-3',
  'tracing',
];

/** Past a deadline, on a machine shared with other work: what "a small margin" allows (ms). */
const MARGIN_MS = 1500;

describe.each(['throw', 'hang'] as const)('a close step that %ss', (mode) => {
  it.each(STEPS)('%s: every other step still closes, by the deadline', async (failing) => {
    const ended: string[] = [];
    const originals = new Map<string, CloseStep['close']>();
    const gateway = await startTestGateway({
      // A metrics port of its own, so that its close step closes a real listener.
      env: { REDIS_URL: redis.server.url, METRICS_PORT: '0' },
      closeSteps: (steps) =>
        steps.map((step) => {
          originals.set(step.name, step.close);
          const close =
            step.name !== failing
              ? step.close
              : mode === 'throw'
                ? async () => {
                    await step.close();
                    throw new Error(`injected: ${failing} throws`);
                  }
                : () => new Promise<void>(() => {});
          return {
            name: step.name,
            close: async () => {
              await close();
              ended.push(step.name);
            },
          };
        }),
    });
    expect([...originals.keys()]).toEqual(STEPS);
    const deadlineMs = 500;
    const started = Date.now();
    const error = await gateway.close({ until: started + deadlineMs }).then(
      () => null,
      (e: unknown) => e,
    );
    const tookMs = Date.now() - started;
    try {
      expect(error).toBeInstanceOf(CloseStepsError);
      expect((error as CloseStepsError).failed.map(({ name, reason }) => ({ name, reason }))).toEqual([
        { name: failing, reason: mode === 'throw' ? 'threw' : 'overran' },
      ]);
      expect(ended).toEqual(STEPS.filter((name) => name !== failing));
      expect(tookMs).toBeLessThan(deadlineMs + MARGIN_MS);
      if (failing !== 'http') await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
      if (failing !== 'metrics-http') await expect(fetch(`${gateway.metricsUrl}/metrics`)).rejects.toThrow();
    } finally {
      // What the hung step left open, so this test process does not keep it.
      if (mode === 'hang') await originals.get(failing)!();
    }
  });
});

/** The real stop handler in a process of its own, with one close step made to fail (or none). */
async function startFaulty(fault: string, graceMs: number): Promise<GatewayProcess> {
  return startGatewayProcess({
    entry: 'test/support/faulty-close-main.ts',
    redisUrl: redis.server.url,
    logLevel: 'info',
    // With a metrics port of its own: a clean stop leaves no server of it open either.
    env: { CLOSE_FAULT: fault, METRICS_PORT: '0' },
    patch: (config) => {
      config.server = { shutdownGraceMs: graceMs };
    },
  });
}

/** SIGTERM, then how the process exited and how long that took. */
async function stopTimed(gateway: GatewayProcess) {
  const started = Date.now();
  gateway.child.kill('SIGTERM');
  const exit = await gateway.exited;
  return { code: exit.code, signal: exit.signal, ms: Date.now() - started };
}

/** The handle kinds the stop's last line reports as still open. */
function openHandles(output: string): string[] {
  const line = output
    .split('\n')
    .filter((l) => /"msg":"(stopped|error during shutdown|shutdown grace period passed[^"]*)"/.test(l))
    .at(-1);
  return (JSON.parse(line ?? '{}') as { open?: string[] }).open ?? [];
}

/** A closed gateway holds none of these: sockets, servers, file watchers, timers (stdio pipes excepted). */
const LEAKED = /TCPWrap|TCPServerWrap|FSEventWrap|StatWatcher|Timeout|Immediate/;
const GRACE_MS = 2000;

describe('the gateway process stops', { timeout: 60_000 }, () => {
  it('cleanly: exit 0, no socket, watcher or timer left open', async () => {
    const gateway = await startFaulty('none:none', GRACE_MS);
    const exit = await stopTimed(gateway);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(openHandles(gateway.output()).filter((kind) => LEAKED.test(kind))).toEqual([]);
    await gateway.close();
  });

  it('with Redis gone, the log reader gone and the drain hung: exit 1 within the grace period', async () => {
    const gateway = await startFaulty('http:hang', GRACE_MS);
    await redis.server.kill();
    try {
      // The reader of the process's stdout and stderr goes away: its writes now fail (EPIPE).
      gateway.child.stdout!.destroy();
      gateway.child.stderr!.destroy();
      await new Promise((r) => setTimeout(r, 300));
      const exit = await stopTimed(gateway);
      expect(exit).toMatchObject({ code: 1, signal: null });
      expect(exit.ms).toBeLessThan(GRACE_MS + MARGIN_MS);
    } finally {
      await redis.server.restart();
    }
    await gateway.close();
  });

  it('with its main thread blocked on a full stdout pipe: the watchdog thread ends it', async () => {
    const gateway = await startFaulty('meter:flood', GRACE_MS);
    // Nothing reads the pipe any more: once its buffer is full, every synchronous log write blocks.
    gateway.child.stdout!.pause();
    const exit = await stopTimed(gateway);
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.ms).toBeGreaterThanOrEqual(GRACE_MS);
    expect(exit.ms).toBeLessThan(GRACE_MS + WATCHDOG_MARGIN_MS + MARGIN_MS);
    await gateway.close();
  });

  it('at once on a second SIGTERM, with exit 1', async () => {
    const gateway = await startFaulty('http:hang', 60_000);
    gateway.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const exit = await stopTimed(gateway);
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.ms).toBeLessThan(MARGIN_MS);
    await gateway.close();
  });
});
