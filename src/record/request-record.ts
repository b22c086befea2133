import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * One request a limit decision saw, as replay needs it: when, who (tenant, key, plan, and the
 * client address when a per-IP limit applied to it), what (root fields), what it was charged
 * (the estimate) and what it turned out to cost, and what the live decision was.
 */
export interface RequestRecord {
  /** Epoch ms the request was accepted. */
  at: number;
  tenantId: string;
  /** API key or service token id. */
  clientId: string;
  /** Client address, only when a per-IP limit applied (`perIpPerMinute`, a publishable key's per-IP limit); else null. */
  ip: string | null;
  planId: string;
  /** Distinct root fields, `Query.customers`. */
  rootFields: string[];
  /** The estimate it was charged (field cost). */
  estimatedCost: number;
  actualCost: number;
  responseBytes: number;
  /** The live decision: the dimension that refused it, null when admitted. */
  throttledBy: string | null;
  /**
   * Store clock (epoch ms) of the live decision: Redis `TIME` in the limit script, which may be a
   * few ms after `at` (and whole seconds when the request waited for admission). Replay decides at
   * this time, so that a decision next to a window's edge falls on the same side. Absent: not
   * known (a record of the first format, a request refused before the store): replay uses `at`.
   */
  decidedAt?: number;
  /**
   * Store clock (epoch ms) when the request's settle (its unused cost refunded, its response bytes
   * added) reached the store. Absent: not known; replay settles right after the decision.
   */
  settledAt?: number;
  /**
   * True when the gateway's local fallback decided it (the shared store was away): that decision
   * came from one instance's share of the limit, which a replay through the store's arithmetic
   * does not reproduce. Absent: the store decided (or no decision time is known).
   */
  decidedLocally?: boolean;
  /**
   * The priced operation (text, name, variables), by its key in the operation book
   * (operation-key.ts, operation-book.ts): what a replay with suggested `@listSize` values prices
   * again. Absent: nothing was priced (refused at the door, failed to parse) or a record of a
   * format before it (`v1`, `v2`).
   */
  operation?: string;
}

/**
 * A block: the records of one flush that fall in one UTC minute, oldest first, as text lines
 * compressed with raw DEFLATE (level 1: fastest; ids and root fields repeat, so it still shrinks
 * the text about tenfold). One line per record, tab-separated:
 *
 *   ms after the block's base \t tenant \t client \t ip \t plan \t roots (comma-separated) \t estimated \t actual \t bytes \t throttledBy
 *   \t decidedAt − at \t settledAt − at \t `l` when decided by the local fallback \t operation key
 *
 * The first line is `v3 <base epoch ms>`; blocks of the earlier formats are still read: `v1`
 * (before the store times were recorded) has the first ten fields, `v2` (before the operation
 * key) the first thirteen. Ids never hold tabs, commas or newlines (the meter's
 * id rules: no whitespace; root fields are `Type.field`); empty stands for null.
 */
export function encodeBlock(records: readonly RequestRecord[]): Buffer {
  const base = records.length > 0 ? records[0]!.at : 0;
  const lines = [`v3 ${base}`];
  for (const r of records) {
    const decided = r.decidedAt === undefined ? '' : r.decidedAt - r.at;
    const settled = r.settledAt === undefined ? '' : r.settledAt - r.at;
    lines.push(
      `${r.at - base}\t${r.tenantId}\t${r.clientId}\t${r.ip ?? ''}\t${r.planId}\t${r.rootFields.join(',')}\t${r.estimatedCost}\t${r.actualCost}\t${r.responseBytes}\t${r.throttledBy ?? ''}\t${decided}\t${settled}\t${r.decidedLocally ? 'l' : ''}\t${r.operation ?? ''}`,
    );
  }
  return deflateRawSync(lines.join('\n'), { level: 1 });
}

/** The records of a block, appended to `out`; throws on a block that is not one. */
export function decodeBlock(block: Buffer, out: RequestRecord[]): void {
  const text = inflateRawSync(block).toString('utf8');
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const header = text.slice(0, end);
  const version = /^v[123] /.test(header) ? Number(header[1]) : 0;
  if (version === 0) throw new Error(`not a request record block: header ${JSON.stringify(header.slice(0, 20))}`);
  const fields = version === 3 ? 14 : version === 2 ? 13 : 10;
  const base = Number(header.slice(3));
  let start = end + 1;
  while (start < text.length) {
    let stop = text.indexOf('\n', start);
    if (stop < 0) stop = text.length;
    const f = text.slice(start, stop).split('\t');
    start = stop + 1;
    if (f.length !== fields) throw new Error(`request record line has ${f.length} fields, expected ${fields}`);
    const at = base + Number(f[0]);
    const record: RequestRecord = {
      at,
      tenantId: f[1]!,
      clientId: f[2]!,
      ip: f[3] === '' ? null : f[3]!,
      planId: f[4]!,
      rootFields: f[5] === '' ? [] : f[5]!.split(','),
      estimatedCost: Number(f[6]),
      actualCost: Number(f[7]),
      responseBytes: Number(f[8]),
      throttledBy: f[9] === '' ? null : f[9]!,
    };
    if (version >= 2) {
      if (f[10] !== '') record.decidedAt = at + Number(f[10]);
      if (f[11] !== '') record.settledAt = at + Number(f[11]);
      if (f[12] === 'l') record.decidedLocally = true;
    }
    if (version === 3 && f[13] !== '') record.operation = f[13]!;
    out.push(record);
  }
}
