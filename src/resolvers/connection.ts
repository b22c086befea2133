import type { EdgeRecord, PageRecord } from '../downstream/records.js';

/** Relay connection fields over a downstream page; `pageInfo` and `totalCount` pass through. */
export const connectionResolvers = {
  edges: <T>(page: PageRecord<T>): EdgeRecord<T>[] => page.items.map((node, i) => ({ cursor: page.cursors[i] ?? '', node })),
  nodes: <T>(page: PageRecord<T>): T[] => page.items,
};
