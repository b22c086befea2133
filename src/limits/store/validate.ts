import type { Adjustment, Dimension, LeaseRequest } from './types.js';

/** A dimension or adjustment that no store could apply: a bug in the caller, never a store failure. */
export class InvalidDimensionError extends Error {
  override name = 'InvalidDimensionError';
}

/** Upper bound on `buckets`: the script reads every sub-bucket of a key on each check. */
export const MAX_BUCKETS = 1000;
/** Real-world UTC offsets run from -12:00 to +14:00. */
export const MIN_UTC_OFFSET_MINUTES = -720;
export const MAX_UTC_OFFSET_MINUTES = 840;

/**
 * Throws an Error naming the first bad dimension, the field and the bad value, e.g.
 * `limit dimension "tenant-rpm": buckets must be an integer from 1 to 1000: 0`.
 * Both stores call this before touching any state, so a bad config never reaches Redis.
 */
export function validateDimensions(dimensions: readonly Dimension[]): void {
  if (!Array.isArray(dimensions)) throw new InvalidDimensionError(`limit dimensions must be an array: ${show(dimensions)}`);
  // Runs on every check: a handful of dimensions, so a nested loop rather than a Map per call.
  for (let index = 0; index < dimensions.length; index++) {
    const dimension = dimensions[index]!;
    validateDimension(dimension, index);
    for (let earlier = 0; earlier < index; earlier++) {
      const previous = dimensions[earlier]!;
      if (previous.key === dimension.key) {
        throw new InvalidDimensionError(
          `${labelOf(dimension)}: key ${show(dimension.key)} is already used by limit dimension ${show(previous.name)} in this check`,
        );
      }
    }
  }
}

export function validateAdjustments(adjustments: readonly Adjustment[]): void {
  if (!Array.isArray(adjustments)) throw new InvalidDimensionError(`limit adjustments must be an array: ${show(adjustments)}`);
  adjustments.forEach((adjustment, index) => {
    if (typeof adjustment !== 'object' || adjustment === null) {
      throw new InvalidDimensionError(`limit adjustment #${index}: must be an object: ${show(adjustment)}`);
    }
    validateDimension(adjustment.dimension, index);
    const label = labelOf(adjustment.dimension);
    if (adjustment.placement !== undefined && adjustment.placement !== 'at' && adjustment.placement !== 'now') {
      throw new InvalidDimensionError(`${label}: adjustment placement must be "at" or "now": ${show(adjustment.placement)}`);
    }
    if (!Number.isSafeInteger(adjustment.at) || adjustment.at < 0) {
      throw new InvalidDimensionError(`${label}: adjustment at must be a non-negative integer (epoch ms): ${show(adjustment.at)}`);
    }
    if (!Number.isSafeInteger(adjustment.delta)) {
      throw new InvalidDimensionError(`${label}: adjustment delta must be an integer: ${show(adjustment.delta)}`);
    }
  });
}

/** A lease request the script can apply: whole numbers, per mille within 0-1000. */
export function validateLease(request: LeaseRequest): void {
  const { tokens, lifetimeMs, keepPermille, sharePermille } = request;
  if (!isNonNegativeInteger(tokens)) throw new InvalidDimensionError(`lease tokens must be a non-negative integer: ${show(tokens)}`);
  if (!isNonNegativeInteger(lifetimeMs)) throw new InvalidDimensionError(`lease lifetimeMs must be a non-negative integer: ${show(lifetimeMs)}`);
  for (const [name, value] of [
    ['keepPermille', keepPermille],
    ['sharePermille', sharePermille],
  ] as const) {
    if (!isNonNegativeInteger(value) || value > 1000) throw new InvalidDimensionError(`lease ${name} must be an integer from 0 to 1000: ${show(value)}`);
  }
  const { bytesPerRequest } = request;
  if (bytesPerRequest !== undefined && !isNonNegativeInteger(bytesPerRequest)) {
    throw new InvalidDimensionError(`lease bytesPerRequest must be a non-negative integer: ${show(bytesPerRequest)}`);
  }
}

/** The label used in messages (`limit dimension "name"`); built only for one. */
function labelOf(dimension: Dimension): string {
  return `limit dimension ${show(dimension.name)}`;
}

function validateDimension(dimension: Dimension, index: number): void {
  if (typeof dimension !== 'object' || dimension === null) {
    throw new InvalidDimensionError(`limit dimension #${index}: must be an object: ${show(dimension)}`);
  }
  if (typeof dimension.name !== 'string' || dimension.name === '') {
    throw new InvalidDimensionError(`limit dimension #${index}: name must be a non-empty string: ${show(dimension.name)}`);
  }
  // Runs on every check: `fail` is a plain function, not a closure made per call.
  if (typeof dimension.key !== 'string' || dimension.key === '') fail(dimension, 'key must be a non-empty string', dimension.key);
  if (!isNonNegativeInteger(dimension.limit)) fail(dimension, 'limit must be a non-negative integer', dimension.limit);
  if (!isNonNegativeInteger(dimension.amount)) fail(dimension, 'amount must be a non-negative integer', dimension.amount);
  if (dimension.checkOnly !== undefined && typeof dimension.checkOnly !== 'boolean') {
    fail(dimension, 'checkOnly must be a boolean', dimension.checkOnly);
  }
  switch (dimension.kind) {
    case 'sliding': {
      const { windowMs, buckets } = dimension;
      if (!Number.isSafeInteger(windowMs) || windowMs < 1) fail(dimension, 'windowMs must be a positive integer', windowMs);
      if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
        fail(dimension, `buckets must be an integer from 1 to ${MAX_BUCKETS}`, buckets);
      }
      if (dimension.burst !== undefined) validateBurst(dimension);
      break;
    }
    case 'calendar': {
      const { period, utcOffsetMinutes } = dimension;
      if (period !== 'day' && period !== 'month') fail(dimension, 'period must be "day" or "month"', period);
      if (!Number.isInteger(utcOffsetMinutes) || utcOffsetMinutes < MIN_UTC_OFFSET_MINUTES || utcOffsetMinutes > MAX_UTC_OFFSET_MINUTES) {
        fail(dimension, `utcOffsetMinutes must be an integer from ${MIN_UTC_OFFSET_MINUTES} to ${MAX_UTC_OFFSET_MINUTES}`, utcOffsetMinutes);
      }
      break;
    }
    default:
      fail(dimension, 'kind must be "sliding" or "calendar"', (dimension as { kind: unknown }).kind);
  }
}

/** A burst zone: positive whole numbers, held at most one window ahead (the script's storage bound), never check-only. */
function validateBurst(dimension: Extract<Dimension, { kind: 'sliding' }>): void {
  const burst = dimension.burst;
  if (typeof burst !== 'object' || burst === null) fail(dimension, 'burst must be an object', burst);
  if (!Number.isSafeInteger(burst.amount) || burst.amount < 1) fail(dimension, 'burst amount must be a positive integer', burst.amount);
  if (!Number.isSafeInteger(burst.maxDelayMs) || burst.maxDelayMs < 1 || burst.maxDelayMs > dimension.windowMs) {
    fail(dimension, `burst maxDelayMs must be an integer from 1 to the window (${dimension.windowMs} ms)`, burst.maxDelayMs);
  }
  if (dimension.checkOnly) fail(dimension, 'burst cannot apply to a checkOnly dimension', dimension.checkOnly);
}

function fail(dimension: Dimension, what: string, value: unknown): never {
  throw new InvalidDimensionError(`${labelOf(dimension)}: ${what}: ${show(value)}`);
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
