import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { createFakeMeters, type MeterEventRecord } from './fake-stripe-meters.js';

/**
 * A small Stripe API on a local port, for the official `stripe` package pointed at it through
 * its host/port/protocol options: subscriptions (retrieve), customers, Checkout and
 * customer-portal sessions, Billing Meter events (idempotent by identifier, as Stripe is) and
 * their hourly summaries (fake-stripe-meters.ts). Fault injection: `faultRate` of calls answer 500 or hang past the
 * client's timeout, chosen by a seeded generator so a run is reproducible. Also builds events
 * and delivers them signed (`stripe.webhooks.generateTestHeaderString`), the way Stripe does:
 * retried until answered 2xx, duplicated and reordered on request.
 */
export interface FakeStripe {
  url: string;
  subscriptions: Map<string, Record<string, unknown>>;
  customers: Map<string, Record<string, unknown>>;
  checkoutSessions: Map<string, Record<string, unknown>>;
  portalSessions: Map<string, Record<string, unknown>>;
  /** Meter id (`mtr_...`) -> its event name; events of other names are kept but summed by no meter. */
  meters: Map<string, string>;
  /** Meter events by identifier: a second event with the same identifier is refused (400) and not counted. */
  meterEvents: Map<string, MeterEventRecord>;
  /** Calls answered normally, and calls failed on purpose. */
  stats: { calls: number; faults: number };
  setFaultRate(rate: number): void;
  close(): Promise<void>;
}

export interface FakeStripeOptions {
  /** Share of calls that fail (half 500, half a hang of `hangMs`), default 0. */
  faultRate?: number;
  /** How long a "timeout" fault holds the call before answering 500, default 2 s. */
  hangMs?: number;
  seed?: number;
  /**
   * A "timeout" fault applies the call first and then hangs, as when Stripe did the work and the
   * answer was lost; default false (the call is not applied).
   */
  applyBeforeTimeout?: boolean;
}

/** mulberry32: a tiny seeded generator, so fault patterns repeat run to run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stripe's form encoding (`metadata[tenant]=acme`, `line_items[0][price]=p`) as flat key -> value. */
async function formOf(request: IncomingMessage): Promise<Map<string, string>> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return new Map(new URLSearchParams(body));
}

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const random = seeded(options.seed ?? 22);
  let faultRate = options.faultRate ?? 0;
  const subscriptions = new Map<string, Record<string, unknown>>();
  const customers = new Map<string, Record<string, unknown>>();
  const checkoutSessions = new Map<string, Record<string, unknown>>();
  const portalSessions = new Map<string, Record<string, unknown>>();
  const billingMeters = createFakeMeters();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const stats = { calls: 0, faults: 0 };
  const hangs = new Set<NodeJS.Timeout>();

  const send = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomUUID()}` });
    response.end(JSON.stringify(body));
  };
  const notFound = (what: string) => ({ status: 404, body: { error: { type: 'invalid_request_error', message: `No such ${what}` } } });

  async function route(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const path = (request.url ?? '').split('?')[0]!;
    const form = request.method === 'POST' ? await formOf(request) : new Map<string, string>();
    const metered = billingMeters.route(request.method ?? '', path, form, new URL(request.url ?? '', 'http://x').searchParams);
    if (metered) return metered;
    const sub = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (request.method === 'GET' && sub) {
      const found = subscriptions.get(sub[1]!);
      return found ? { status: 200, body: found } : notFound(`subscription: '${sub[1]}'`);
    }
    if (request.method === 'POST' && path === '/v1/customers') {
      const id = `cus_${randomUUID().slice(0, 12)}`;
      const customer = { id, object: 'customer', metadata: { tenant: form.get('metadata[tenant]') ?? null }, name: form.get('name') ?? null };
      customers.set(id, customer);
      return { status: 200, body: customer };
    }
    if (request.method === 'POST' && path === '/v1/checkout/sessions') {
      const id = `cs_test_${randomUUID().slice(0, 12)}`;
      const session = {
        id,
        object: 'checkout.session',
        url: `https://checkout.stripe.test/c/pay/${id}`,
        mode: form.get('mode'),
        customer: form.get('customer'),
        client_reference_id: form.get('client_reference_id'),
        success_url: form.get('success_url'),
        cancel_url: form.get('cancel_url'),
        price: form.get('line_items[0][price]'),
        subscription_metadata_tenant: form.get('subscription_data[metadata][tenant]'),
      };
      checkoutSessions.set(id, session);
      return { status: 200, body: session };
    }
    if (request.method === 'POST' && path === '/v1/billing_portal/sessions') {
      const id = `bps_${randomUUID().slice(0, 12)}`;
      const session = {
        id,
        object: 'billing_portal.session',
        url: `https://billing.stripe.test/p/session/${id}`,
        customer: form.get('customer'),
        return_url: form.get('return_url'),
      };
      portalSessions.set(id, session);
      return { status: 200, body: session };
    }
    return notFound(`route: ${request.method} ${path}`);
  }

  /** Does the call as a normal one would (its idempotency key remembered), without answering. */
  async function applyQuietly(request: IncomingMessage): Promise<void> {
    const key = request.headers['idempotency-key'];
    const answer = await route(request);
    if (typeof key === 'string' && answer.status === 200 && !idempotent.has(key)) idempotent.set(key, answer);
  }

  const server: Server = createServer((request, response) => {
    const roll = random();
    if (roll < faultRate) {
      stats.faults += 1;
      // Half the faults answer 500 at once, half hold the call past the client's timeout.
      if (roll < faultRate / 2) return send(response, 500, { error: { type: 'api_error', message: 'injected fault' } });
      // Stripe may have done the work before the answer was lost (applyBeforeTimeout).
      if (options.applyBeforeTimeout) void applyQuietly(request);
      const timer = setTimeout(() => {
        hangs.delete(timer);
        send(response, 500, { error: { type: 'api_error', message: 'injected timeout' } });
      }, options.hangMs ?? 2000);
      hangs.add(timer);
      return;
    }
    void (async () => {
      const key = request.headers['idempotency-key'];
      const replay = typeof key === 'string' ? idempotent.get(key) : undefined;
      const answer = replay ?? (await route(request));
      if (typeof key === 'string' && answer.status === 200) idempotent.set(key, answer);
      stats.calls += 1;
      send(response, answer.status, answer.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    subscriptions,
    customers,
    checkoutSessions,
    portalSessions,
    meters: billingMeters.meters,
    meterEvents: billingMeters.meterEvents,
    stats,
    setFaultRate: (rate) => {
      faultRate = rate;
    },
    async close() {
      for (const timer of hangs) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let eventSeq = 0;

/** A Stripe event around `object`, `created` in epoch seconds (Stripe's unit). */
export function stripeEvent(type: string, object: Record<string, unknown>, created: number = Math.floor(Date.now() / 1000)): Stripe.Event {
  eventSeq += 1;
  return {
    id: `evt_${created}_${eventSeq}_${randomUUID().slice(0, 8)}`,
    object: 'event',
    api_version: '2025-01-01',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  } as unknown as Stripe.Event;
}

/** A subscription object as Stripe sends it, with one item per price. */
export function subscriptionObject(o: { id: string; customer: string; status: string; prices: string[]; tenant?: string }): Record<string, unknown> {
  return {
    id: o.id,
    object: 'subscription',
    customer: o.customer,
    status: o.status,
    metadata: o.tenant ? { tenant: o.tenant } : {},
    items: {
      object: 'list',
      data: o.prices.map((price, i) => ({ id: `si_${o.id}_${i}`, object: 'subscription_item', price: { id: price, object: 'price' } })),
    },
  };
}

/** An invoice of a subscription (the current API's `parent.subscription_details`). */
export function invoiceObject(o: { id: string; customer: string; subscription: string }): Record<string, unknown> {
  return {
    id: o.id,
    object: 'invoice',
    customer: o.customer,
    parent: { type: 'subscription_details', subscription_details: { subscription: o.subscription } },
  };
}

/** POSTs one signed delivery of `event`; `timestamp` (epoch s) and `secret` can be made wrong on purpose. */
export async function deliver(webhookUrl: string, event: Stripe.Event, secret: string, options: { timestamp?: number; signature?: string } = {}) {
  const payload = JSON.stringify(event);
  const header =
    options.signature ??
    Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }) });
  const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** As Stripe does: redelivers until the endpoint answers 2xx (at most `attempts` times), each time freshly signed. */
export async function deliverUntilOk(webhookUrl: string, event: Stripe.Event, secret: string, attempts = 30) {
  let last: Awaited<ReturnType<typeof deliver>> | null = null;
  for (let i = 0; i < attempts; i++) {
    last = await deliver(webhookUrl, event, secret);
    if (last.status >= 200 && last.status < 300) return { ...last, attempts: i + 1 };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`event ${event.id} never accepted: last answer ${last?.status} ${JSON.stringify(last?.body)}`);
}
