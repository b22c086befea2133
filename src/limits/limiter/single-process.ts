import { createMemoryLimitStore } from '../store/memory-store.js';
import type { Limiter } from './interface.js';

/**
 * One process without Redis: the in-memory store is the truth and enforces the full limits. There
 * is no store to lose, so no fallback, no settle to carry and no lease (they save round trips).
 */
export function createSingleProcessLimiter(): Limiter {
  const store = createMemoryLimitStore();
  return {
    consume: async (dims, _onStoreFailure, shadow) => ({ decision: await store.consume(dims, [], shadow), source: 'local' }),
    peek: async (dims) => ({ decision: await store.peek(dims), source: 'local' }),
    async adjust(adjustments, source) {
      if (adjustments.length > 0 && source !== 'unavailable') await store.adjust(adjustments);
    },
    start: async () => {},
    checksInFlight: () => 0,
    holdsLease: () => false,
    storeState: () => 'closed',
    shadowRecord: (recordKey) => store.shadowRecord!(recordKey),
    close: async () => {},
  };
}
