import { createHmac, timingSafeEqual } from 'node:crypto';

// Receivers are told to copy this file: it depends on node:crypto alone.

/** Header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'x-gateway-signature';
/** Header carrying the alert event id (stable per event; receivers dedupe retries and replays with it). */
export const EVENT_ID_HEADER = 'x-gateway-event-id';
/** How far a signature's `t` may be from the receiver's clock, either way: 300 s (5 minutes, Stripe's default). */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** Longer headers are malformed without parsing: the gateway sends one `v1`, this leaves room for ~50. */
const MAX_HEADER_LENGTH = 4096;

/**
 * The outcome of checking a signature header. `mismatch`: no `v1` is the HMAC of this body and
 * `t` with this secret (wrong secret, or a tampered body or timestamp). `expired`: authentic, but
 * `t` is outside the tolerance (a replay, or a clock off by more than the tolerance).
 */
export type SignatureCheck = 'valid' | 'malformed' | 'mismatch' | 'expired';

export interface VerifyOptions {
  /** Largest accepted distance between `t` and `now`, in seconds, either direction; default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** The receiver's clock, epoch ms (as `Date.now()`); default `Date.now()`. Tests inject it. */
  now?: number;
}

/** The `x-gateway-signature` value of `body` sent at `timestamp` (unix seconds). */
export function signatureHeader(body: string, secret: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, String(timestamp), body).toString('hex')}`;
}

/**
 * Checks `header` (the `x-gateway-signature` value) against the raw `body` as received, before
 * parsing it (re-serialized JSON differs byte-wise). Malformed: missing, longer than 4 KiB, not
 * comma-separated `key=value`, no `t` or more than one, `t` not decimal digits, no `v1`, or a
 * `v1` that is not 64 hex digits. Other keys are skipped, so a future scheme can ride along; the
 * retired body-only `sha256=<hex>` header has no `t` and is malformed. Several `v1` entries are
 * accepted (one per secret while a secret is rotated); one matching is enough. The signature is
 * checked before the time, so `expired` is only said of an authentic delivery.
 */
export function checkSignature(body: string, header: string | undefined, secret: string, options: VerifyOptions = {}): SignatureCheck {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error(`toleranceSeconds must be a non-negative number: ${tolerance}`);
  }
  const parsed = header === undefined ? null : parseHeader(header);
  if (!parsed) return 'malformed';
  const expected = hmac(secret, parsed.t, body);
  let matched = false;
  // Constant-time per entry, and every entry is compared: timing does not reveal how close a forgery came.
  for (const given of parsed.signatures) matched = timingSafeEqual(given, expected) || matched;
  if (!matched) return 'mismatch';
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  return Math.abs(nowSeconds - Number(parsed.t)) <= tolerance ? 'valid' : 'expired';
}

/** Whether `header` is a valid signature of `body` with `secret`, sent within the tolerance (see `checkSignature`). */
export function verifySignature(body: string, header: string | undefined, secret: string, options: VerifyOptions = {}): boolean {
  return checkSignature(body, header, secret, options) === 'valid';
}

/** HMAC-SHA256 of `"<t>.<body>"`; `t` is the header's own text, so any change to it breaks the signature. */
function hmac(secret: string, t: string, body: string): Buffer {
  return createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest();
}

function parseHeader(header: string): { t: string; signatures: Buffer[] } | null {
  if (header.length > MAX_HEADER_LENGTH) return null;
  let t: string | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      // 12 digits reach the year 33000; more is not a time.
      if (t !== null || !/^\d{1,12}$/.test(value)) return null;
      t = value;
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return null;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  return t !== null && signatures.length > 0 ? { t, signatures } : null;
}
