import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature of a webhook body. */
export const SIGNATURE_HEADER = 'x-gateway-signature';
/** Header carrying the alert event id (stable per event; receivers dedupe retries with it). */
export const EVENT_ID_HEADER = 'x-gateway-event-id';

/** `sha256=<hex HMAC-SHA256 of the exact body bytes (UTF-8) keyed with the secret>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Whether `header` (the `x-gateway-signature` value) is the signature of `body` with `secret`.
 * Verify the raw body as received, before parsing it: re-serialized JSON differs byte-wise.
 * The comparison is constant-time; a malformed header is simply `false`.
 */
export function verifySignature(body: string, header: string, secret: string): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(body, 'utf8').digest();
  const given = Buffer.from(match[1]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
