import type { Adjustment, Dimension } from '../store/types.js';

/**
 * A lease's reservation of response bytes on its check-only dimensions (a byte budget; ALGORITHM.md,
 * "Byte budgets in leases"). Redis charged (1 + granted) × `perRequest` bytes there at the lease's
 * end. Each request admitted from the lease draws `perRequest` first (none is admitted once less
 * is left); its response's actual bytes then settle the draw: within the draw plus what is left, the
 * difference goes back to (or comes out of) the reservation, with no store call; larger, the
 * response is charged in full at once and the lease ends. What is left when the lease ends is refunded.
 */
export interface ByteReservation {
  /** The check-only dimensions the bytes were reserved on. */
  dims: readonly Dimension[];
  /** Bytes each admission draws. */
  perRequest: number;
  /** Reserved bytes neither drawn nor settled yet. */
  left: number;
  /** Where Redis placed the reservation (store clock): refunds go there. */
  chargedAt: number;
  /** Its remainder has been refunded (the lease ended): a draw then settles on its own. */
  ended: boolean;
}

/** A settled draw: what to tell the store, and whether at once (a response larger than what was left). */
export interface DrawSettle {
  adjustments: Adjustment[];
  overflow: boolean;
}

/** The reservation of a lease granted `granted` tokens with `perRequest` bytes each (and its own request's), or null for none. */
export function reserveBytes(dims: readonly Dimension[], perRequest: number, granted: number, chargedAt: number): ByteReservation | null {
  if (perRequest <= 0 || granted <= 0) return null;
  const onBytes = dims.filter((d) => d.checkOnly);
  if (onBytes.length === 0) return null;
  return { dims: onBytes, perRequest, left: (1 + granted) * perRequest, chargedAt, ended: false };
}

/** Whether one more request may draw on the reservation. */
export function canDraw(reservation: ByteReservation): boolean {
  return !reservation.ended && reservation.left >= reservation.perRequest;
}

/** One request's draw (call only when `canDraw`): the bytes it took. */
export function drawBytes(reservation: ByteReservation): number {
  reservation.left -= reservation.perRequest;
  return reservation.perRequest;
}

/** Ends the reservation: its remainder refunded where it was charged. */
export function endReservation(reservation: ByteReservation): Adjustment[] {
  if (reservation.ended) return [];
  reservation.ended = true;
  const left = reservation.left;
  reservation.left = 0;
  return left > 0 ? refunds(reservation, left) : [];
}

/**
 * A response of `bytes` (at `at`, the request's decision time) settled against a draw of `drawn`.
 * Within what the draw and the reservation's remainder hold: nothing to send while the lease lives
 * (a smaller response gives the rest back to the reservation), or, once it ended, the unused part
 * of the draw refunded. Larger: the response charged in full now and the draw given back (to the
 * reservation, which the caller then ends; or refunded, if it ended), to be sent at once.
 */
export function settleDraw(reservation: ByteReservation, drawn: number, bytes: number, at: number): DrawSettle {
  if (!reservation.ended) {
    if (bytes <= drawn + reservation.left) {
      reservation.left += drawn - bytes;
      return { adjustments: [], overflow: false };
    }
    reservation.left += drawn;
    return { adjustments: additions(reservation, bytes, at), overflow: true };
  }
  if (bytes <= drawn) return { adjustments: drawn > bytes ? refunds(reservation, drawn - bytes) : [], overflow: false };
  return { adjustments: [...additions(reservation, bytes, at), ...refunds(reservation, drawn)], overflow: true };
}

function refunds(reservation: ByteReservation, bytes: number): Adjustment[] {
  return reservation.dims.map((dimension): Adjustment => ({ dimension, at: reservation.chargedAt, delta: -bytes, placement: 'at' }));
}

function additions(reservation: ByteReservation, bytes: number, at: number): Adjustment[] {
  return bytes > 0 ? reservation.dims.map((dimension): Adjustment => ({ dimension, at, delta: bytes })) : [];
}
