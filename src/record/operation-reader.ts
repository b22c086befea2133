import { documentPartOf, type RecordedOperation } from './operation-key.js';
import { DAY_MS, type OperationStore } from './operation-store.js';
import type { RequestRecord } from './request-record.js';

/**
 * The operations behind the records' keys, read from the operation book's store a minute of
 * records at a time: each key is looked up in the day of the request that ran it, once per replay
 * (`load` before `get`). An operation is content-addressed, so once found it serves every day.
 */
export function createOperationReader(store: OperationStore) {
  const found = new Map<string, RecordedOperation>();
  /** Name and text per document key, parsed once: the variable sets of one text share its string. */
  const documents = new Map<string, [string | null, string]>();
  /** `<day>|<key>` looked up and not there (not kept, or expired). */
  const missing = new Set<string>();

  return {
    /** Reads what `records` name and is not known yet: one HMGET per day they span. */
    async load(records: readonly RequestRecord[]): Promise<void> {
      const wanted = new Map<number, Set<string>>();
      for (const r of records) {
        const key = r.operation;
        if (key === undefined || found.has(key)) continue;
        const day = Math.floor(r.at / DAY_MS);
        if (missing.has(`${day}|${key}`)) continue;
        let keys = wanted.get(day);
        if (!keys) {
          keys = new Set();
          wanted.set(day, keys);
        }
        keys.add(key);
      }
      for (const [day, keys] of wanted) {
        const list = [...keys];
        const fields = [
          ...new Set(
            list.flatMap((key) => {
              const documentKey = documentPartOf(key);
              const text = documents.has(documentKey) ? [] : [`d:${documentKey}`];
              return documentKey === key ? text : [...text, `v:${key}`];
            }),
          ),
        ];
        const values = await store.get(day, fields);
        const byField = new Map(fields.map((f, i) => [f, values[i] ?? null]));
        for (const key of list) {
          const documentKey = documentPartOf(key);
          let document = documents.get(documentKey);
          const stored = document ? null : byField.get(`d:${documentKey}`);
          if (stored) {
            document = JSON.parse(stored) as [string | null, string];
            documents.set(documentKey, document);
          }
          const variables = documentKey === key ? '{}' : byField.get(`v:${key}`);
          if (!document || !variables) {
            missing.add(`${day}|${key}`);
            continue;
          }
          found.set(key, { name: document[0], text: document[1], variables });
        }
      }
    },
    /** The operation of a key `load` was given; null when the store does not have it. */
    get(key: string): RecordedOperation | null {
      return found.get(key) ?? null;
    },
  };
}

export type OperationReader = ReturnType<typeof createOperationReader>;
