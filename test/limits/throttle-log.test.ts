import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createThrottleLog } from '../../src/limits/throttle-log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const event = (tenantId: string) => ({ tenantId, plan: 'free', clientId: 'k', ip: '10.0.0.1', operation: 'Op', dimension: 'requests', policy: 'minute' });

describe('throttle log', () => {
  it('logs the first N decisions per tenant per minute, then only a count when the minute ends', async () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = createThrottleLog(
      logger,
      () => 3,
      () => now,
    );
    for (let i = 0; i < 1000; i++) log.record(event('acme'));
    log.record(event('globex'));
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.msg === 'request throttled' && l.tenantId === 'acme')).toHaveLength(3);
    expect(lines.filter((l) => l.tenantId === 'globex')).toHaveLength(1);
    expect(lines[0]).toMatchObject({ tenantId: 'acme', plan: 'free', clientId: 'k', ip: '10.0.0.1', operation: 'Op', dimension: 'requests' });

    now = 60_000;
    log.record(event('acme'));
    await new Promise((r) => setImmediate(r));
    expect(lines.find((l) => typeof l.suppressed === 'number')).toMatchObject({ tenantId: 'acme', suppressed: 997 });
    expect(lines.at(-1)).toMatchObject({ msg: 'request throttled', tenantId: 'acme' });
  });
});
