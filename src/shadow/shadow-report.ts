import type { Config } from '../config/schema.js';
import type { RuntimeShadows } from './runtime-shadows.js';
import { shadowRecordKey } from './shadow-charge.js';
import type { ShadowInForce } from './shadow-in-force.js';

/** Would-be refusals of one key by one policy. */
export interface ShadowRefusalRow {
  clientId: string;
  policy: string;
  count: number;
  /** Epoch ms. */
  firstAt: number;
  lastAt: number;
}

/** One tenant's shadow and what it would have refused. */
export interface ShadowReportRow {
  tenantId: string;
  inForce: ShadowInForce;
  refusals: ShadowRefusalRow[];
  wouldRefuse: number;
  /** Epoch ms; null when it would have refused nothing yet. */
  firstRefusedAt: number | null;
  lastRefusedAt: number | null;
}

/** What the console's shadow panel and the admin mutations need (gateway.ts wires it). */
export interface ShadowServices {
  inForce(config: Config, tenantId: string, now: number): ShadowInForce | null;
  runtime: RuntimeShadows;
  /** The record hash's fields (`Limiter.shadowRecord`); rejects when the store cannot be read. */
  record(recordKey: string): Promise<Record<string, string>>;
}

/**
 * The record hash of a shadow (limiter.lua, "Shadow limits": `<key>|<policy>|n`, `|f`, `|l`) as
 * rows, most refusals first. Fields it cannot read are skipped: the hash is for people to read.
 */
export function parseShadowRecord(fields: Record<string, string>): ShadowRefusalRow[] {
  const rows = new Map<string, ShadowRefusalRow>();
  for (const [name, value] of Object.entries(fields)) {
    const parts = name.split('|');
    if (parts.length !== 3) continue;
    const [clientId, policy, what] = parts as [string, string, string];
    const number = Number(value);
    if (!Number.isFinite(number)) continue;
    const id = `${clientId}|${policy}`;
    let row = rows.get(id);
    if (!row) {
      row = { clientId, policy, count: 0, firstAt: 0, lastAt: 0 };
      rows.set(id, row);
    }
    if (what === 'n') row.count = number;
    else if (what === 'f') row.firstAt = number;
    else if (what === 'l') row.lastAt = number;
  }
  return [...rows.values()]
    .filter((row) => row.count > 0)
    .sort((a, b) => b.count - a.count || a.clientId.localeCompare(b.clientId) || a.policy.localeCompare(b.policy));
}

/** Every tenant a shadow covers now, with its would-be refusals: one store read per such tenant. */
export async function shadowReport(services: ShadowServices, config: Config, now: number): Promise<ShadowReportRow[]> {
  const covered = Object.keys(config.tenants).flatMap((tenantId) => {
    const inForce = services.inForce(config, tenantId, now);
    return inForce ? [{ tenantId, inForce }] : [];
  });
  return Promise.all(
    covered.map(async ({ tenantId, inForce }) => {
      const refusals = parseShadowRecord(await services.record(shadowRecordKey(tenantId, inForce.id)));
      const firsts = refusals.map((r) => r.firstAt);
      const lasts = refusals.map((r) => r.lastAt);
      return {
        tenantId,
        inForce,
        refusals,
        wouldRefuse: refusals.reduce((sum, r) => sum + r.count, 0),
        firstRefusedAt: firsts.length > 0 ? Math.min(...firsts) : null,
        lastRefusedAt: lasts.length > 0 ? Math.max(...lasts) : null,
      };
    }),
  );
}
