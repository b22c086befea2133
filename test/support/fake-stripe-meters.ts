import { randomUUID } from 'node:crypto';

/** One meter event as the fake Stripe keeps it. */
export interface MeterEventRecord {
  identifier: string;
  event_name: string;
  /** Epoch s. */
  timestamp: number;
  payload: { stripe_customer_id: string; value: string };
  /** How many times it was POSTed under a new idempotency key (refused duplicates included). */
  received: number;
}

const HOUR_S = 3600;
/** Stripe takes meter events up to 35 days old and 5 minutes ahead. */
const METER_WINDOW_S = 35 * 24 * HOUR_S;

type Answer = { status: number; body: unknown };

/**
 * The fake Stripe's Billing Meters (fake-stripe.ts): meter events, idempotent by identifier as
 * Stripe is (a second event with a known identifier is refused with Stripe's 400 "An event
 * already exists with identifier ..."), and a meter's hourly event summaries, paged as Stripe
 * pages lists.
 */
export function createFakeMeters() {
  /** Meter id -> its event name. */
  const meters = new Map<string, string>();
  const meterEvents = new Map<string, MeterEventRecord>();

  function meterEvent(form: Map<string, string>): Answer {
    const identifier = form.get('identifier') ?? `auto_${randomUUID()}`;
    const timestamp = Number(form.get('timestamp') ?? Math.floor(Date.now() / 1000));
    const nowS = Date.now() / 1000;
    if (!(timestamp > nowS - METER_WINDOW_S && timestamp <= nowS + 300)) {
      return {
        status: 400,
        body: { error: { type: 'invalid_request_error', message: 'timestamp must be within the past 35 days or up to 5 minutes in the future' } },
      };
    }
    const known = meterEvents.get(identifier);
    if (known) {
      // Stripe refuses an identifier it has seen (a replay under the same idempotency key is answered before this).
      known.received += 1;
      return { status: 400, body: { error: { type: 'invalid_request_error', message: `An event already exists with identifier ${identifier}.` } } };
    }
    {
      const value = form.get('payload[value]') ?? '0';
      meterEvents.set(identifier, {
        identifier,
        event_name: form.get('event_name') ?? '',
        timestamp,
        payload: { stripe_customer_id: form.get('payload[stripe_customer_id]') ?? '', value },
        received: 1,
      });
    }
    const event = meterEvents.get(identifier)!;
    return { status: 200, body: { object: 'billing.meter_event', created: Math.floor(nowS), livemode: false, ...event } };
  }

  /** Hourly sums of one customer's events of a meter in [start_time, end_time), oldest first, paged by `starting_after`. */
  function eventSummaries(meterId: string, query: URLSearchParams): Answer {
    const eventName = meters.get(meterId);
    if (!eventName) return { status: 404, body: { error: { type: 'invalid_request_error', message: `No such billing.meter: '${meterId}'` } } };
    const [start, end] = [Number(query.get('start_time')), Number(query.get('end_time'))];
    if (query.get('value_grouping_window') !== 'hour' || start % HOUR_S !== 0 || end % HOUR_S !== 0) {
      return { status: 400, body: { error: { type: 'invalid_request_error', message: 'start_time and end_time must align with value_grouping_window=hour' } } };
    }
    const sums = new Map<number, number>();
    for (const e of meterEvents.values()) {
      if (e.event_name !== eventName || e.payload.stripe_customer_id !== query.get('customer') || e.timestamp < start || e.timestamp >= end) continue;
      const hour = e.timestamp - (e.timestamp % HOUR_S);
      sums.set(hour, (sums.get(hour) ?? 0) + Number(e.payload.value));
    }
    const all = [...sums]
      .sort((a, b) => a[0] - b[0])
      .map(([hour, value]) => ({
        id: `mtrsum_${meterId}_${hour}`,
        object: 'billing.meter_event_summary',
        aggregated_value: value,
        start_time: hour,
        end_time: hour + HOUR_S,
        livemode: false,
        meter: meterId,
      }));
    const after = query.get('starting_after');
    const from = after ? all.findIndex((s) => s.id === after) + 1 : 0;
    const limit = Number(query.get('limit') ?? 10);
    const data = all.slice(from, from + limit);
    return { status: 200, body: { object: 'list', url: `/v1/billing/meters/${meterId}/event_summaries`, has_more: from + limit < all.length, data } };
  }

  return {
    meters,
    meterEvents,
    /** The answer to a meter call, or null for other routes. */
    route(method: string, path: string, form: Map<string, string>, query: URLSearchParams): Answer | null {
      if (method === 'POST' && path === '/v1/billing/meter_events') return meterEvent(form);
      const summaries = /^\/v1\/billing\/meters\/([^/]+)\/event_summaries$/.exec(path);
      if (method === 'GET' && summaries) return eventSummaries(summaries[1]!, query);
      return null;
    },
  };
}
