import { describe, expect, it } from 'vitest';
import { type FairQueueOptions, type Refusal, type Slot, createFairQueue } from '../../src/fairness/fair-queue.js';
import type { Priority } from '../../src/fairness/priority.js';

/**
 * A fair queue on a clock the test moves, with calls named so the order of grants reads as a
 * string. Every call is granted or refused synchronously, inside `ask` or `done`.
 */
function harness(options: Partial<Omit<FairQueueOptions, 'limit' | 'now'>> & { limit?: number } = {}) {
  let time = 0;
  let limit = options.limit ?? 1;
  const queue = createFairQueue({
    maxQueue: 100,
    maxQueuePerTenant: 100,
    criticalReservePercent: 0,
    agePerClassMs: 1000,
    ...options,
    limit: () => limit,
    now: () => time,
  });
  const granted: string[] = [];
  const slots = new Map<string, Slot>();
  const refused = new Map<string, Refusal>();
  const cancels = new Map<string, () => void>();
  return {
    queue,
    granted,
    refused,
    get time() {
      return time;
    },
    advance(ms: number) {
      time += ms;
    },
    setLimit(value: number) {
      limit = value;
    },
    ask(name: string, tenantId: string, call: { weight?: number; priority?: Priority; deadlineAt?: number } = {}) {
      const cancel = queue.request(
        { tenantId, weight: call.weight ?? 1, priority: call.priority ?? 'normal', deadlineAt: call.deadlineAt ?? Infinity },
        {
          granted(slot) {
            granted.push(name);
            slots.set(name, slot);
          },
          refused(refusal) {
            refused.set(name, refusal);
          },
        },
      );
      cancels.set(name, cancel);
    },
    done(name: string) {
      const slot = slots.get(name);
      if (!slot) throw new Error(`${name} holds no slot`);
      slot.release();
    },
    cancel(name: string) {
      cancels.get(name)?.();
    },
    /** Releases whoever was granted last, `times` times: one grant per release with limit 1. */
    serve(times: number) {
      for (let i = 0; i < times; i++) this.done(granted[granted.length - 1] ?? 'none');
    },
    slot(name: string) {
      return slots.get(name);
    },
  };
}

describe('fair queue: order', () => {
  it('grants at once while a slot is free, then queues', () => {
    const q = harness({ limit: 2 });
    q.ask('a1', 'a');
    q.ask('a2', 'a');
    q.ask('a3', 'a');
    expect(q.granted).toEqual(['a1', 'a2']);
    expect(q.queue.state()).toEqual({ inFlight: 2, queued: 1, limit: 2, queuedByPriority: { critical: 0, normal: 1, batch: 0 } });
    q.done('a1');
    expect(q.granted).toEqual(['a1', 'a2', 'a3']);
  });

  it('serves backlogged tenants in proportion to their weights', () => {
    const q = harness();
    q.ask('hold', 'x');
    for (let i = 1; i <= 6; i++) q.ask(`A${i}`, 'a', { weight: 2 });
    for (let i = 1; i <= 6; i++) q.ask(`B${i}`, 'b', { weight: 1 });
    q.serve(12);
    expect(q.granted.slice(1)).toEqual(['A1', 'B1', 'A2', 'A3', 'B2', 'A4', 'A5', 'B3', 'A6', 'B4', 'B5', 'B6']);
  });

  it("serves a tenant that arrives during another's flood next, not after the flood's backlog", () => {
    const q = harness();
    q.ask('hold', 'x');
    for (let i = 1; i <= 10; i++) q.ask(`F${i}`, 'flooder');
    q.serve(3);
    q.ask('quiet', 'quiet');
    q.serve(1);
    expect(q.granted.slice(1)).toEqual(['F1', 'F2', 'F3', 'quiet']);
  });

  it('serves critical, then normal, then batch, whatever the arrival order', () => {
    const q = harness();
    q.ask('hold', 'x');
    q.ask('batch', 'a', { priority: 'batch' });
    q.ask('normal', 'a', { priority: 'normal' });
    q.ask('critical', 'b', { priority: 'critical' });
    q.serve(3);
    expect(q.granted).toEqual(['hold', 'critical', 'normal', 'batch']);
  });

  it('keeps the critical reserve: normal calls never hold it, a critical call gets it at once', () => {
    const q = harness({ limit: 5, criticalReservePercent: 20 });
    for (let i = 1; i <= 6; i++) q.ask(`n${i}`, 'a');
    expect(q.granted).toEqual(['n1', 'n2', 'n3', 'n4']);
    q.ask('c1', 'b', { priority: 'critical' });
    q.ask('c2', 'b', { priority: 'critical' });
    expect(q.granted).toEqual(['n1', 'n2', 'n3', 'n4', 'c1']);
    // A freed normal slot goes to the waiting critical call first.
    q.done('n1');
    expect(q.granted.slice(5)).toEqual(['c2']);
    // Then critical calls end: the reserve stays theirs, so only one normal call runs in n1's place.
    q.done('c1');
    q.done('c2');
    expect(q.granted.slice(6)).toEqual(['n5']);
    expect(q.queue.state()).toMatchObject({ inFlight: 4, queued: 1 });
  });

  it('has no reserve when the limit is 1 (a normal call would never run)', () => {
    const q = harness({ limit: 1, criticalReservePercent: 50 });
    q.ask('n1', 'a');
    expect(q.granted).toEqual(['n1']);
  });

  it('follows the limit as it moves: more slots are granted at once on the next decision', () => {
    const q = harness({ limit: 1 });
    for (let i = 1; i <= 4; i++) q.ask(`a${i}`, 'a');
    q.setLimit(3);
    q.done('a1');
    expect(q.granted).toEqual(['a1', 'a2', 'a3', 'a4']);
  });
});

describe('fair queue: ageing', () => {
  /** One critical call arrives every 100 ms and takes the only slot; a batch call waits from 0. */
  function criticalStream(agePerClassMs: number, steps: number) {
    const q = harness({ agePerClassMs });
    q.ask('hold', 'x', { priority: 'critical' });
    q.ask('batch', 'b', { priority: 'batch' });
    for (let i = 1; i <= steps && !q.granted.includes('batch'); i++) {
      q.advance(100);
      q.ask(`c${i}`, 'a', { priority: 'critical' });
      q.serve(1);
    }
    return q;
  }

  it('serves a batch call once it has waited two classes of age longer than the critical calls', () => {
    const q = criticalStream(1000, 50);
    // Due at 0 + 2 x 1000; at 2000 a critical call arriving then ties and wins on class.
    expect(q.granted.indexOf('batch')).toBe(21);
    expect(q.slot('batch')?.waitedMs).toBe(2100);
  });

  it('without ageing the batch call would starve behind the stream', () => {
    const q = criticalStream(1e9, 50);
    expect(q.granted).not.toContain('batch');
    expect(q.granted).toHaveLength(51);
  });
});

describe('fair queue: deadlines', () => {
  it('refuses a call whose deadline passes while it waits (queue_timeout), never granting it late', () => {
    const q = harness();
    q.ask('hold', 'x');
    q.ask('late', 'a', { deadlineAt: 500 });
    q.ask('patient', 'b', { deadlineAt: 5000 });
    q.advance(600);
    q.done('hold');
    expect(q.refused.get('late')).toMatchObject({ reason: 'queue_timeout', waitedMs: 600 });
    expect(q.granted).toEqual(['hold', 'patient']);
  });

  it('refuses a call at once when its deadline has passed on arrival', () => {
    const q = harness();
    q.ask('hold', 'x');
    q.advance(10);
    q.ask('late', 'a', { deadlineAt: 10 });
    expect(q.refused.get('late')).toMatchObject({ reason: 'queue_timeout', waitedMs: 0 });
  });

  it('refuses at once (expected_wait) when the calls ahead at the recent hold time pass the deadline', () => {
    const q = harness();
    q.ask('first', 'x');
    q.advance(100);
    q.done('first'); // slots are held 100 ms
    q.ask('hold', 'x');
    q.ask('ahead', 'a');
    // One call ahead, one slot: about 100 ms to wait and 100 ms to run, from t = 100.
    q.ask('hurried', 'b', { deadlineAt: q.time + 150 });
    q.ask('calm', 'c', { deadlineAt: q.time + 1000 });
    expect(q.refused.get('hurried')).toMatchObject({ reason: 'expected_wait', waitedMs: 0 });
    expect(q.refused.has('calm')).toBe(false);
    expect(q.queue.state().queued).toBe(2);
  });

  it("with a deadline that bounds only the wait (admission), leaves out the call's own run", () => {
    const asked = (deadlineCoversRun: boolean) => {
      const q = harness({ deadlineCoversRun });
      q.ask('first', 'x');
      q.advance(100);
      q.done('first'); // slots are held 100 ms
      q.ask('hold', 'x');
      q.ask('ahead', 'a');
      // Two rounds of 100 ms to wait; its own run would make 300 ms.
      q.ask('next', 'b', { deadlineAt: q.time + 250 });
      return q.refused.get('next')?.reason ?? 'queued';
    };
    expect(asked(true)).toBe('expected_wait');
    expect(asked(false)).toBe('queued');
  });

  it('counts the age of the slots in use as hold time: a service that stopped answering refuses early', () => {
    const q = harness();
    q.ask('first', 'x');
    q.advance(10);
    q.done('first'); // slots were held 10 ms
    q.ask('stuck', 'x');
    q.advance(2000); // ... but this one has been held 2 s already
    q.ask('next', 'a', { deadlineAt: q.time + 3000 });
    expect(q.refused.get('next')).toMatchObject({ reason: 'expected_wait' });
  });

  it('a cancelled call is never granted and gives its place back to its tenant', () => {
    const q = harness();
    q.ask('hold', 'x');
    q.ask('A1', 'a');
    q.ask('A2', 'a');
    q.ask('B1', 'b');
    q.ask('B2', 'b');
    q.cancel('A1');
    q.serve(3);
    // A2 moved up into A1's tag: it goes before B2, level with B1.
    expect(q.granted).toEqual(['hold', 'A2', 'B1', 'B2']);
    expect(q.refused.size).toBe(0);
  });
});

describe('fair queue: bounds and shedding', () => {
  it("refuses a tenant's call past its own bound (tenant_queue_full) while others still queue", () => {
    const q = harness({ maxQueuePerTenant: 2 });
    q.ask('hold', 'x');
    q.ask('A1', 'a');
    q.ask('A2', 'a');
    q.ask('A3', 'a');
    q.ask('B1', 'b');
    expect(q.refused.get('A3')).toMatchObject({ reason: 'tenant_queue_full', waitedMs: 0 });
    expect(q.queue.state().queued).toBe(3);
  });

  it("sheds the tenant's own least urgent newest call for its more urgent one", () => {
    const q = harness({ maxQueuePerTenant: 2 });
    q.ask('hold', 'x');
    q.ask('A-batch', 'a', { priority: 'batch' });
    q.ask('A-normal', 'a');
    q.ask('A-critical', 'a', { priority: 'critical' });
    expect(q.refused.get('A-batch')).toMatchObject({ reason: 'shed' });
    q.serve(2);
    expect(q.granted).toEqual(['hold', 'A-critical', 'A-normal']);
  });

  it('when full, sheds the lowest class first, then the tenant most over its share, then refuses the newcomer', () => {
    const q = harness({ maxQueue: 5 });
    q.ask('hold', 'x');
    q.ask('X-batch', 'x', { priority: 'batch' });
    q.ask('A1', 'a');
    q.ask('A2', 'a');
    q.ask('A3', 'a');
    q.ask('B1', 'b', { weight: 4 });
    // Full. A normal newcomer: the batch call goes.
    q.ask('C1', 'c');
    expect([...q.refused]).toEqual([['X-batch', expect.objectContaining({ reason: 'shed' })]]);
    // Full of normal calls: A (3 calls at weight 1) is furthest over its share; its newest goes.
    q.ask('D1', 'd');
    expect(q.refused.get('A3')).toMatchObject({ reason: 'shed' });
    // Now A has 2 queued: still the furthest ahead, so A2 goes for E1.
    q.ask('E1', 'e');
    expect(q.refused.get('A2')).toMatchObject({ reason: 'shed' });
    // Everyone is at one call's share (B's at a quarter): the newcomer is refused, not someone else.
    q.ask('F1', 'f');
    expect(q.refused.get('F1')).toMatchObject({ reason: 'queue_full', waitedMs: 0 });
    // A batch newcomer is below everything queued: refused.
    q.ask('G-batch', 'g', { priority: 'batch' });
    expect(q.refused.get('G-batch')).toMatchObject({ reason: 'queue_full' });
    expect(q.queue.state()).toMatchObject({ queued: 5, queuedByPriority: { critical: 0, normal: 5, batch: 0 } });
    q.serve(5);
    expect(q.granted.slice(1)).toEqual(['A1', 'B1', 'C1', 'D1', 'E1']);
  });

  it('a weighty tenant may queue more before it is the one shed', () => {
    const q = harness({ maxQueue: 4 });
    q.ask('hold', 'x');
    q.ask('H1', 'heavy', { weight: 4 });
    q.ask('H2', 'heavy', { weight: 4 });
    q.ask('H3', 'heavy', { weight: 4 });
    q.ask('L1', 'light');
    // light: 2 calls at weight 1 would be 2 shares ahead; heavy's 3 at weight 4 are 0.75.
    q.ask('L2', 'light');
    expect(q.refused.get('L2')).toMatchObject({ reason: 'queue_full' });
    expect(q.refused.size).toBe(1);
  });

  it('with maxQueue 0 nothing waits', () => {
    const q = harness({ maxQueue: 0 });
    q.ask('hold', 'x');
    q.ask('a', 'a', { priority: 'critical' });
    expect(q.refused.get('a')).toMatchObject({ reason: 'queue_full' });
  });

  it('says how long the queue needs to drain, from the recent hold time', () => {
    const q = harness({ maxQueue: 1 });
    q.ask('first', 'x');
    q.advance(400);
    q.done('first');
    q.ask('hold', 'x');
    q.ask('A1', 'a');
    q.ask('B1', 'b');
    // One queued plus the newcomer, 400 ms each, one slot.
    expect(q.refused.get('B1')).toMatchObject({ reason: 'queue_full', drainMs: 800 });
  });
});

describe('fair queue: slots', () => {
  it('counts a release once, and a handler that releases at once is fine', () => {
    const q = harness();
    q.ask('a1', 'a');
    q.ask('a2', 'a');
    q.done('a1');
    q.done('a1');
    expect(q.queue.state()).toMatchObject({ inFlight: 1, queued: 0 });
    const queue = q.queue;
    const order: string[] = [];
    for (const name of ['r1', 'r2', 'r3']) {
      queue.request(
        { tenantId: 'r', weight: 1, priority: 'normal', deadlineAt: Infinity },
        {
          granted(slot) {
            order.push(name);
            slot.release();
          },
          refused: () => order.push(`${name} refused`),
        },
      );
    }
    q.done('a2');
    expect(order).toEqual(['r1', 'r2', 'r3']);
    expect(queue.state()).toMatchObject({ inFlight: 0, queued: 0 });
  });
});

describe('fair queue: a slot at once (tryAcquire)', () => {
  it('takes a free slot only when nobody waits, so a newcomer never jumps the queue', () => {
    const q = harness({ limit: 2 });
    const first = q.queue.tryAcquire('normal');
    expect(first).toMatchObject({ waitedMs: 0 });
    q.ask('a', 't1');
    expect(q.granted).toEqual(['a']);
    // Full: nothing at once, and nothing changed.
    expect(q.queue.tryAcquire('normal')).toBeUndefined();
    q.ask('b', 't2'); // waits
    expect(q.queue.state()).toMatchObject({ inFlight: 2, queued: 1 });
    first!.release();
    first!.release(); // only the first counts
    expect(q.granted).toEqual(['a', 'b']);
    q.ask('c', 't3'); // waits behind nobody, but the instance is full
    q.done('a'); // c runs
    expect(q.granted).toEqual(['a', 'b', 'c']);
    q.setLimit(4);
    q.ask('d', 't4'); // a free slot: at once
    q.setLimit(2);
    q.ask('e', 't5'); // waits
    q.setLimit(4);
    // A slot is free, but e waits: the newcomer is not served before it.
    expect(q.queue.tryAcquire('critical')).toBeUndefined();
    expect(q.queue.state()).toMatchObject({ inFlight: 3, queued: 1 });
  });

  it('keeps the critical reserve: normal and batch get no reserved slot at once', () => {
    const q = harness({ limit: 5, criticalReservePercent: 20 });
    const normal = [1, 2, 3, 4].map(() => q.queue.tryAcquire('normal'));
    expect(normal.every((slot) => slot !== undefined)).toBe(true);
    expect(q.queue.tryAcquire('batch')).toBeUndefined();
    expect(q.queue.tryAcquire('critical')).toBeDefined();
    expect(q.queue.tryAcquire('critical')).toBeUndefined();
    expect(q.queue.state()).toMatchObject({ inFlight: 5, queued: 0 });
    for (const slot of normal) slot!.release();
    expect(q.queue.state()).toMatchObject({ inFlight: 1, queued: 0 });
  });
});
