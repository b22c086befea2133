import type { Dimension } from './store/types.js';

/**
 * Everything the store is asked, per dimension: two checks with equal keys are charged alike. The
 * check at the door is used only for a request whose dimensions have its key; a lease serves only
 * requests whose dimensions have the key it was granted on.
 */
export function chargeKey(dims: readonly Dimension[]): string {
  const kept = keys.get(dims);
  if (kept !== undefined) return kept;
  let key = '';
  for (const d of dims) {
    key += `${d.key}|${d.limit}|${d.amount}|${d.checkOnly ? 1 : 0}|`;
    key +=
      d.kind === 'sliding' ? `${d.windowMs}|${d.buckets}|${d.burst ? `${d.burst.amount}/${d.burst.maxDelayMs}` : ''}\n` : `${d.period}|${d.utcOffsetMinutes}\n`;
  }
  return key;
}

/**
 * Keys of arrays shared by every request that builds equal dimensions (dimensions-memo.ts, never
 * changed): built once, and the same string's hash is then cached by every map it is looked up in.
 */
const keys = new WeakMap<readonly Dimension[], string>();

/** Builds and keeps `dims`' key: only for an array no one changes. */
export function keepChargeKey(dims: readonly Dimension[]): void {
  keys.set(dims, chargeKey(dims));
}
