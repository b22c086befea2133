import { GatewayError } from '../errors/gateway-error.js';
import { UsageQueryError, type Granularity } from '../usage/store.js';

/** How far back a range reaches when `from` is not given, per granularity. */
const DEFAULT_SPAN_MS: Record<Granularity, number> = {
  minute: 60 * 60_000,
  hour: 24 * 3_600_000,
  day: 30 * 86_400_000,
  month: 365 * 86_400_000,
};

/** A validated time range from the GraphQL arguments (ISO strings, both optional). */
export function usageRange(
  granularity: 'MINUTE' | 'HOUR' | 'DAY' | 'MONTH' | null | undefined,
  from: string | null | undefined,
  to: string | null | undefined,
  now = Date.now(),
): { granularity: Granularity; from: number; to: number } {
  const g = (granularity ?? 'HOUR').toLowerCase() as Granularity;
  const end = parseTime(to, 'to') ?? now;
  const start = parseTime(from, 'from') ?? end - DEFAULT_SPAN_MS[g]!;
  if (start > end) throw new GatewayError('BAD_USER_INPUT', `from must not be after to: ${new Date(start).toISOString()} > ${new Date(end).toISOString()}`);
  return { granularity: g, from: start, to: end };
}

function parseTime(value: string | null | undefined, argument: string): number | null {
  if (value == null) return null;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new GatewayError('BAD_USER_INPUT', `${argument} must be an ISO 8601 date-time: "${value}"`, { extensions: { argument } });
  return t;
}

/** The store refuses bad ranges (too many buckets, past retention) with UsageQueryError: the client's input. */
export async function asUserInput<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof UsageQueryError) throw new GatewayError('BAD_USER_INPUT', err.message);
    throw err;
  }
}
