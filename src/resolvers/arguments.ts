import { GatewayError } from '../errors/gateway-error.js';

/**
 * Checks a page size argument against the maximum the schema documents, so an oversized request
 * is refused with a message naming the argument, not passed on to a service that would refuse it.
 */
export function pageSize(value: number | null | undefined, fallback: number, max: number, argument: string): number {
  const size = value ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw new GatewayError('BAD_USER_INPUT', `${argument} must be between 1 and ${max}: ${size}`, {
      extensions: { argument },
    });
  }
  return size;
}

/** Query string for a page request: `first=20&after=abc`. */
export function pageQuery(first: number, after: string | null | undefined): string {
  return `first=${first}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
}
