import { GatewayError } from '../errors/gateway-error.js';
import { idProblem, isCanonicalId } from '../downstream/ids.js';

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

/**
 * An id argument, refused with BAD_USER_INPUT unless it is one canonical id (downstream/ids.ts):
 * an id with a comma or surrounding whitespace would be split or trimmed by the services and name
 * other objects than the one asked for.
 */
export function canonicalId(value: string, argument: string): string {
  if (!isCanonicalId(value)) throw new GatewayError('BAD_USER_INPUT', idProblem(argument, value), { extensions: { argument } });
  return value;
}
