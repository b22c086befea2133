/**
 * Reads the gateway's rate-limit headers (draft-ietf-httpapi-ratelimit-headers-10 as the gateway
 * sends them, see src/limits/headers.ts): `RateLimit-Policy: "minute";q=100;w=60, ...` and
 * `RateLimit: "minute";r=42;t=17, ...`, plus `Retry-After` and `X-RateLimit-Exempt`. No
 * dependencies and no DOM: it runs in browsers, Node and workers alike.
 */

/** One policy that applied to a response: its quota and what is left of it. */
export interface PolicyState {
  /** `minute`, `day`, `cost-minute`, `key-ip-minute`, `Mutation.placeOrder`, ... */
  name: string;
  /** The quota per window (`q`), in requests, cost points or bytes. */
  quota: number | null;
  /** The window in seconds (`w`). */
  windowSeconds: number | null;
  /** What is left now (`r`). */
  remaining: number;
  /** Epoch ms when the quota is back (`t` seconds after the response). */
  resetAt: number;
}

export interface RateLimitInfo {
  policies: PolicyState[];
  /** Seconds, from `Retry-After` (a 429 or 503). */
  retryAfterSeconds: number | null;
  /** Why no limit applies (`service-token`, `platform-admin`, `no-limits`), from `X-RateLimit-Exempt`. */
  exempt: string | null;
}

/** The subset of the Fetch `Headers` interface this needs. */
export interface HeaderSource {
  get(name: string): string | null;
}

const ITEM = /^\s*"([^"]*)"((?:;\s*[a-z]+=[^;,]*)*)\s*$/;

/** `"minute";q=100;w=60, "day";q=1000;w=86400` -> [{ name: 'minute', params: { q: 100, w: 60 } }, ...]; bad items are skipped. */
export function parseStructuredList(value: string | null): { name: string; params: Record<string, number> }[] {
  if (!value) return [];
  const items: { name: string; params: Record<string, number> }[] = [];
  // Policy names are quoted strings without commas (the gateway's names are tokens and field paths).
  for (const part of value.split(',')) {
    const match = ITEM.exec(part);
    if (!match) continue;
    const params: Record<string, number> = {};
    for (const pair of match[2]!.split(';').slice(1)) {
      const [key, raw] = pair.split('=');
      const number = Number(raw);
      if (key && Number.isFinite(number)) params[key.trim()] = number;
    }
    items.push({ name: match[1]!, params });
  }
  return items;
}

/** Everything the rate-limit headers of one response say; `now` is when it arrived (epoch ms). */
export function readRateLimit(headers: HeaderSource, now = Date.now()): RateLimitInfo {
  const quotas = new Map(parseStructuredList(headers.get('ratelimit-policy')).map((p) => [p.name, p.params]));
  const policies = parseStructuredList(headers.get('ratelimit')).flatMap(({ name, params }) => {
    if (params.r === undefined) return [];
    const policy = quotas.get(name);
    return [{ name, quota: policy?.q ?? null, windowSeconds: policy?.w ?? null, remaining: params.r, resetAt: now + (params.t ?? 0) * 1000 }];
  });
  return { policies, retryAfterSeconds: retryAfterOf(headers.get('retry-after'), now), exempt: headers.get('x-ratelimit-exempt') };
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterOf(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
