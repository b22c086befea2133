import { describe, expect, it } from 'vitest';
import { canDraw, drawBytes, endReservation, reserveBytes, settleDraw } from '../../../src/limits/limiter/byte-reservation.js';
import type { Dimension } from '../../../src/limits/store/types.js';

/**
 * A lease's byte reservation, step by step (ALGORITHM.md, "Byte budgets in leases"): what each
 * settle sends to the store, and when it must go at once. Redis itself is in byte-leases.test.ts.
 */
const minute: Dimension = { kind: 'sliding', name: 'minute', key: 'rl:{t}:req:m', limit: 1000, windowMs: 60_000, buckets: 30, amount: 1 };
const bytes: Dimension = {
  kind: 'sliding',
  name: 'bytes-hour',
  key: 'rl:{t}:bytes:h',
  limit: 1_000_000,
  windowMs: 3_600_000,
  buckets: 60,
  amount: 0,
  checkOnly: true,
};
const CHARGED_AT = 5_000;

describe('a lease’s byte reservation', () => {
  it('reserves (1 + granted) draws on the check-only dimensions only, and none without bytes or tokens', () => {
    expect(reserveBytes([minute, bytes], 100, 3, CHARGED_AT)).toEqual({ dims: [bytes], perRequest: 100, left: 400, chargedAt: CHARGED_AT, ended: false });
    expect(reserveBytes([minute, bytes], 0, 3, CHARGED_AT)).toBeNull();
    expect(reserveBytes([minute, bytes], 100, 0, CHARGED_AT)).toBeNull();
    expect(reserveBytes([minute], 100, 3, CHARGED_AT)).toBeNull();
  });

  it('admits a draw only while a whole one is left, and settles a response within the draw and the remainder without a store call', () => {
    const r = reserveBytes([minute, bytes], 100, 2, CHARGED_AT)!;
    expect(drawBytes(r)).toBe(100);
    expect(drawBytes(r)).toBe(100);
    // A smaller response gives the rest back: room for another draw.
    expect(settleDraw(r, 100, 40, 1)).toEqual({ adjustments: [], overflow: false });
    expect(r.left).toBe(160);
    // A larger one that fits the remainder takes from it.
    expect(settleDraw(r, 100, 250, 1)).toEqual({ adjustments: [], overflow: false });
    expect(r.left).toBe(10);
    expect(canDraw(r)).toBe(false);
    // What is left is refunded where it was charged when the lease ends, once.
    expect(endReservation(r)).toEqual([{ dimension: bytes, at: CHARGED_AT, delta: -10, placement: 'at' }]);
    expect(endReservation(r)).toEqual([]);
    expect(canDraw(r)).toBe(false);
  });

  it('charges a response larger than its draw and the remainder in full, now, giving its draw back to the reservation', () => {
    const r = reserveBytes([minute, bytes], 100, 2, CHARGED_AT)!;
    drawBytes(r);
    expect(settleDraw(r, 100, 301, 7)).toEqual({ adjustments: [{ dimension: bytes, at: 7, delta: 301 }], overflow: true });
    // The caller ends the lease: the whole reservation is refunded, so the response counts exactly once.
    expect(endReservation(r)).toEqual([{ dimension: bytes, at: CHARGED_AT, delta: -300, placement: 'at' }]);
  });

  it('settles a draw whose lease ended on its own: the unused part refunded, a larger response in full at once with the draw refunded', () => {
    const r = reserveBytes([minute, bytes], 100, 3, CHARGED_AT)!;
    drawBytes(r);
    drawBytes(r);
    drawBytes(r);
    endReservation(r);
    expect(settleDraw(r, 100, 100, 7)).toEqual({ adjustments: [], overflow: false });
    expect(settleDraw(r, 100, 30, 7)).toEqual({ adjustments: [{ dimension: bytes, at: CHARGED_AT, delta: -70, placement: 'at' }], overflow: false });
    expect(settleDraw(r, 100, 130, 7)).toEqual({
      adjustments: [
        { dimension: bytes, at: 7, delta: 130 },
        { dimension: bytes, at: CHARGED_AT, delta: -100, placement: 'at' },
      ],
      overflow: true,
    });
  });
});
