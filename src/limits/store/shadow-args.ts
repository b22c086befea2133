import type { Dimension, ShadowCheck, ShadowVerdict } from './types.js';
import { InvalidDimensionError, validateDimensions } from './validate.js';

/** Ends the ARGV of a check that carries a shadow group; limiter.lua looks for it in the last two ARGV. */
const SHADOW_MARKER = 'shadow';

/**
 * The shadow group's ARGV, in the order limiter.lua reads them ("Shadow limits"): per dimension
 * its 8 ARGV (`pushDimension`, as the check's own) and its policy name, then the subject, the
 * policy of a refusal without a check ('' none), the record's lifetime (ms), 'shadow' and the
 * number of dimensions. Always last, so the check's own layout (and a lease's) is unchanged.
 */
export function pushShadowArgs(args: string[], shadow: ShadowCheck, pushDimension: (args: string[], dimension: Dimension) => void): void {
  for (const dimension of shadow.dimensions) {
    pushDimension(args, dimension);
    args.push(dimension.name);
  }
  args.push(shadow.subject, shadow.refusedBy ?? '', String(shadow.recordTtlMs), SHADOW_MARKER, String(shadow.dimensions.length));
}

/** Takes the shadow group's results off the end of `reply` (2 per dimension, then allowed, heldMs). */
export function decodeShadow(shadow: ShadowCheck, reply: number[]): ShadowVerdict {
  const count = shadow.dimensions.length;
  const tail = reply.splice(reply.length - (2 * count + 2));
  if (tail.length !== 2 * count + 2) throw new Error(`rate limiter script returned no shadow results for ${count} shadow dimensions`);
  const results: ShadowVerdict['results'] = [];
  let refusedBy: string | null = shadow.refusedBy ?? null;
  for (let index = 0; index < count; index++) {
    const name = shadow.dimensions[index]!.name;
    const allowed = tail[2 * index] === 1;
    results.push({ name, used: tail[2 * index + 1]!, allowed });
    if (!allowed && refusedBy === null) refusedBy = name;
  }
  const allowed = tail[2 * count] === 1;
  return { allowed, heldMs: tail[2 * count + 1]!, refusedBy: allowed ? null : refusedBy, results };
}

/**
 * A shadow group's own dimensions are valid as a check's, and none of its keys (nor its record's)
 * is one of the check's: a shadow never counts on the enforced counters.
 */
export function validateShadow(shadow: ShadowCheck, dimensions: readonly Dimension[]): void {
  validateDimensions(shadow.dimensions);
  const keys = new Set(dimensions.map((d) => d.key));
  for (const dimension of shadow.dimensions) {
    if (keys.has(dimension.key))
      throw new InvalidDimensionError(`shadow limit dimension "${dimension.name}": key "${dimension.key}" is one of the check's own`);
  }
  if (keys.has(shadow.recordKey) || shadow.dimensions.some((d) => d.key === shadow.recordKey)) {
    throw new InvalidDimensionError(`shadow record key "${shadow.recordKey}" is one of the check's keys`);
  }
  if (shadow.subject.includes('|')) throw new InvalidDimensionError(`shadow subject must not contain "|": "${shadow.subject}"`);
  if (!Number.isSafeInteger(shadow.recordTtlMs) || shadow.recordTtlMs <= 0) {
    throw new InvalidDimensionError(`shadow recordTtlMs must be a positive integer: ${shadow.recordTtlMs}`);
  }
  if (shadow.refusedBy !== undefined && shadow.dimensions.length > 0) {
    throw new InvalidDimensionError('a shadow refused without a check (refusedBy) carries no dimensions');
  }
}
