import { HttpError } from './http-kit.js';
import type { Batch, Page } from './records.js';

/** Page size when `first` is absent. */
export const DEFAULT_FIRST = 20;
/** Largest accepted `first`. */
export const MAX_FIRST = 100;
/** Most ids one batch request may name. */
export const MAX_BATCH_IDS = 200;

const CURSOR_PREFIX = 'offset:';

/** Cursors are opaque to clients; inside they are the offset of the item they point at. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${offset}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const offset = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : '';
  if (!/^\d{1,9}$/.test(offset)) throw new HttpError(400, `after is not a valid cursor: ${cursor}`);
  return Number(offset);
}

/** `first` as a positive integer up to MAX_FIRST, or the default when absent. */
export function parseFirst(query: URLSearchParams, name = 'first'): number {
  const raw = query.get(name);
  if (raw === null) return DEFAULT_FIRST;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= MAX_FIRST)) {
    throw new HttpError(400, `${name} must be an integer from 1 to ${MAX_FIRST}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The ids listed in `name`, comma-separated and/or repeated (`?ids=a,b&ids=c`), in order and with
 * duplicates kept; null when the parameter is absent.
 */
export function parseIdList(query: URLSearchParams, name: string): string[] | null {
  if (!query.has(name)) return null;
  const ids = query
    .getAll(name)
    .flatMap((value) => value.split(','))
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0) throw new HttpError(400, `${name} must list at least one id`);
  if (ids.length > MAX_BATCH_IDS) {
    throw new HttpError(400, `${name} must list at most ${MAX_BATCH_IDS} ids, got ${ids.length}`);
  }
  return ids;
}

/** One answer slot per requested id, null where `lookup` finds nothing. */
export function batch<T>(ids: readonly string[], lookup: (id: string) => T | null): Batch<T> {
  return { items: ids.map((id) => lookup(id)) };
}

/** A page of `list` after the `after` cursor, `first` items long. */
export function paginate<T>(list: readonly T[], query: URLSearchParams): Page<T> {
  const first = parseFirst(query);
  const after = query.get('after');
  const start = after === null || after === '' ? 0 : decodeCursor(after) + 1;
  const items = list.slice(start, start + first);
  const cursors = items.map((_, i) => encodeCursor(start + i));
  return {
    items,
    cursors,
    pageInfo: { endCursor: cursors.at(-1) ?? null, hasNextPage: start + items.length < list.length },
    totalCount: list.length,
  };
}
