import type { Dimension } from './store/types.js';

/**
 * Everything the store is asked, per dimension: two checks with equal keys are charged alike. The
 * check at the door is used only for a request whose dimensions have its key; a lease serves only
 * requests whose dimensions have the key it was granted on.
 */
export function chargeKey(dims: readonly Dimension[]): string {
  let key = '';
  for (const d of dims) {
    key += `${d.key}|${d.limit}|${d.amount}|${d.checkOnly ? 1 : 0}|`;
    key +=
      d.kind === 'sliding' ? `${d.windowMs}|${d.buckets}|${d.burst ? `${d.burst.amount}/${d.burst.maxDelayMs}` : ''}\n` : `${d.period}|${d.utcOffsetMinutes}\n`;
  }
  return key;
}
