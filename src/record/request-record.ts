import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { LeaseEvent } from './lease-event.js';

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
   * The live decision's store call: its number among the tenant's calls (store/call-sequence.ts),
   * which orders calls of one millisecond. Absent: no store call decided it (a lease token, the
   * local fallback, a refusal from memory) or a record of a format before it (`v1`-`v3`).
   */
  seq?: number;
  /** The number of the store call that applied the request's settle (with `settledAt`). */
  settleSeq?: number;
  /** Admitted from a lease: the lease call's `seq` (`LeaseGrantEvent`); equal to `seq` for the lease call's own request. */
  leaseSeq?: number;
  /** Checked without its burst zones: its instance held as many requests as it may (`limits.maxHeldRequests`). */
  burstsDropped?: boolean;
  /**
   * The priced operation (text, name, variables), by its key in the operation book
   * (operation-key.ts, operation-book.ts): what a replay with suggested `@listSize` values prices
   * again. Absent: nothing was priced (refused at the door, failed to parse) or a record of a
   * format before it (`v1`, `v2`).
   */
  operation?: string;
}

/**
 * A block: the records of one flush that fall in one UTC minute, oldest first, and the lease
 * events of that minute (lease-event.ts), as text lines compressed with raw DEFLATE (level 1:
 * fastest; ids and root fields repeat, so it still shrinks the text about tenfold). One line per
 * record, tab-separated:
 *
 *   ms after the block's base \t tenant \t client \t ip \t plan \t roots (comma-separated) \t estimated \t actual \t bytes \t throttledBy
 *   \t decidedAt − at \t settledAt − at \t flags (`l` decided by the local fallback, `b` burst zones dropped) \t operation key
 *   \t seq \t settle seq (− seq when there is one) \t lease seq (seq − it when there is one)
 *
 * and one line per lease event, its first field a letter:
 *
 *   g \t ms after base \t tenant \t seq \t chargedAt − at \t granted \t bytes per request \t renews (a seq, or empty)
 *   s \t ms after base \t tenant \t seq \t lease \t tokens \t bytes refunded \t bytes added
 *
 * The first line is `v4 <base epoch ms>`; blocks of the earlier formats are still read: `v1`
 * (before the store times were recorded) has the first ten fields, `v2` (before the operation
 * key) the first thirteen, `v3` (before the store call numbers and lease events) fourteen. Ids
 * never hold tabs, commas or newlines (the meter's id rules: no whitespace; root fields are
 * `Type.field`); empty stands for null.
 */
export function encodeBlock(records: readonly RequestRecord[], events: readonly LeaseEvent[] = []): Buffer {
  const base = Math.min(records[0]?.at ?? Number.POSITIVE_INFINITY, events[0]?.at ?? Number.POSITIVE_INFINITY);
  const lines = [`v4 ${Number.isFinite(base) ? base : 0}`];
  for (const r of records) {
    const decided = r.decidedAt === undefined ? '' : r.decidedAt - r.at;
    const settled = r.settledAt === undefined ? '' : r.settledAt - r.at;
    const flags = `${r.decidedLocally ? 'l' : ''}${r.burstsDropped ? 'b' : ''}`;
    const seq = r.seq ?? '';
    const settleSeq = r.settleSeq === undefined ? '' : r.settleSeq - (r.seq ?? 0);
    const leaseSeq = r.leaseSeq === undefined ? '' : r.seq === undefined ? r.leaseSeq : r.seq - r.leaseSeq;
    lines.push(
      `${r.at - base}\t${r.tenantId}\t${r.clientId}\t${r.ip ?? ''}\t${r.planId}\t${r.rootFields.join(',')}\t${r.estimatedCost}\t${r.actualCost}\t${r.responseBytes}\t${r.throttledBy ?? ''}\t${decided}\t${settled}\t${flags}\t${r.operation ?? ''}\t${seq}\t${settleSeq}\t${leaseSeq}`,
    );
  }
  for (const e of events) {
    lines.push(
      e.kind === 'grant'
        ? `g\t${e.at - base}\t${e.tenantId}\t${e.seq}\t${e.chargedAt - e.at}\t${e.granted}\t${e.bytesPerRequest}\t${e.renews ?? ''}`
        : `s\t${e.at - base}\t${e.tenantId}\t${e.seq}\t${e.lease}\t${e.tokens}\t${e.bytesRefunded}\t${e.bytesAdded}`,
    );
  }
  return deflateRawSync(lines.join('\n'), { level: 1 });
}

/** Fields of a record line, per format. */
const FIELDS = [0, 10, 13, 14, 17];

/** The records of a block, appended to `out`, and its lease events to `events` (dropped without it); throws on a block that is not one. */
export function decodeBlock(block: Buffer, out: RequestRecord[], events?: LeaseEvent[]): void {
  const text = inflateRawSync(block).toString('utf8');
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const header = text.slice(0, end);
  const version = /^v[1234] /.test(header) ? Number(header[1]) : 0;
  if (version === 0) throw new Error(`not a request record block: header ${JSON.stringify(header.slice(0, 20))}`);
  const fields = FIELDS[version]!;
  const base = Number(header.slice(3));
  let start = end + 1;
  while (start < text.length) {
    let stop = text.indexOf('\n', start);
    if (stop < 0) stop = text.length;
    const f = text.slice(start, stop).split('\t');
    start = stop + 1;
    if (version === 4 && (f[0] === 'g' || f[0] === 's')) {
      if (f.length !== 8) throw new Error(`lease event line has ${f.length} fields, expected 8`);
      events?.push(leaseEventOf(f, base));
      continue;
    }
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
      if (f[12]!.includes('l')) record.decidedLocally = true;
      if (f[12]!.includes('b')) record.burstsDropped = true;
    }
    if (version >= 3 && f[13] !== '') record.operation = f[13]!;
    if (version >= 4) readSequence(record, f);
    out.push(record);
  }
}

/** A v4 record's store call numbers (fields 15-17), as `encodeBlock` wrote them. */
function readSequence(record: RequestRecord, f: string[]): void {
  const seq = f[14] === '' ? undefined : Number(f[14]);
  if (seq !== undefined) record.seq = seq;
  if (f[15] !== '') record.settleSeq = (seq ?? 0) + Number(f[15]);
  if (f[16] !== '') record.leaseSeq = seq === undefined ? Number(f[16]) : seq - Number(f[16]);
}

function leaseEventOf(f: string[], base: number): LeaseEvent {
  const at = base + Number(f[1]);
  const [tenantId, seq] = [f[2]!, Number(f[3])];
  if (f[0] === 'g') {
    return {
      kind: 'grant',
      tenantId,
      at,
      seq,
      chargedAt: at + Number(f[4]),
      granted: Number(f[5]),
      bytesPerRequest: Number(f[6]),
      renews: f[7] === '' ? null : Number(f[7]),
    };
  }
  return { kind: 'settle', tenantId, at, seq, lease: Number(f[4]), tokens: Number(f[5]), bytesRefunded: Number(f[6]), bytesAdded: Number(f[7]) };
}
