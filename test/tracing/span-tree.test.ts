import { ROOT_CONTEXT, SamplingDecision, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { postOnOwnConnection } from '../support/own-connection.js';
import { flushKeepingEpoch, useTestRedis } from '../support/redis-server.js';

/** The trace a caller started: the gateway's spans join it. */
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const HOME = `query Home { viewer { tenant { displayName } } dashboard { customerCount recentOrders { id customer { name } } } products(search: "espresso", first: 3) { id } }`;

const redis = useTestRedis();
let gateway: TestGateway;
let exporter: InMemorySpanExporter;

afterEach(async () => {
  await gateway.close();
  await flushKeepingEpoch(redis.client);
});

/** The spans of one trace once its server span has ended (it ends after the response is sent). */
async function traceOf(traceId: string): Promise<ReadableSpan[]> {
  const ended = () =>
    exporter.getFinishedSpans().some((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.SERVER && s.name.endsWith(' /graphql'));
  expect(await eventually(ended)).toBe(true);
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
const one = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
};
/** The trace of a request whose client left before its response, once its server span has ended, as an error. */
async function leftTraceOf(traceId: string): Promise<{ spans: ReadableSpan[]; server: ReadableSpan }> {
  const spans = await traceOf(traceId);
  const server = one(spans, 'POST /graphql');
  expect(server.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the client closed the request before the response' });
  return { spans, server };
}

describe('tracing on (in-memory exporter, limits on Redis)', () => {
  beforeEach(async () => {
    exporter = new InMemorySpanExporter();
    gateway = await startTestGateway({ env: { REDIS_URL: redis.server.url }, traceExporter: exporter });
  });

  it('one request is one trace: server span -> GraphQL operation -> limit decision (-> Redis) and downstream calls, traceparent sent on', async () => {
    const response = await gateway.gql(DEMO_TOKENS.globexAdmin, HOME, undefined, { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const spans = await traceOf(CALLER_TRACE_ID);

    // The server span continues the caller's trace.
    const server = one(spans, 'POST /graphql');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'http.response.status_code': 200,
      'gateway.tenant.id': 'globex',
      'gateway.client.id': 'globex-admin',
      'gateway.plan.id': 'pro',
    });

    // Below it, the operation, named and described as the GraphQL semantic conventions say.
    const [operation, ...others] = childrenOf(spans, server);
    expect(others).toEqual([]);
    expect(operation!.name).toBe('query');
    expect(operation!.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Home',
      'gateway.tenant.id': 'globex',
      'gateway.plan.id': 'pro',
      'gateway.limit.decision': 'allowed',
    });
    // Literals a caller writes into the document may be secrets: they are not exported.
    expect(operation!.attributes['graphql.document']).toContain('products(search: ?, first: ?)');
    expect(operation!.attributes['graphql.document']).not.toContain('espresso');
    const estimated = operation!.attributes['gateway.cost.estimated'];
    const actual = operation!.attributes['gateway.cost.actual'];
    expect(estimated).toBe(response.body.extensions?.cost?.requested);
    expect(actual).toBe(response.body.extensions?.cost?.actual);
    expect(typeof estimated === 'number' && estimated > 0).toBe(true);

    // The limit decision, decided by Redis, with the Redis commands it sent below it.
    const below = childrenOf(spans, operation!);
    const decision = one(below, 'limit decision');
    expect(decision.attributes).toMatchObject({
      'gateway.limit.decision': 'allowed',
      'gateway.limit.source': 'shared',
      'gateway.plan.id': 'pro',
      'gateway.cost.estimated': estimated,
    });
    const commands = childrenOf(spans, decision);
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      expect(command.kind).toBe(SpanKind.CLIENT);
      expect(command.attributes['db.system.name']).toBe('redis');
    }

    // The downstream calls: one client span each, whose id the service received in `traceparent`.
    const calls = below.filter((s) => s.kind === SpanKind.CLIENT);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const received = Object.values(gateway.sampleServices.services).flatMap((service) => service.requests().map((r) => r.traceparent));
    const serviceUrls = Object.values(gateway.sampleServices.urls).map((url) => new URL(url));
    for (const call of calls) {
      expect(call.attributes['http.request.method']).toBe('GET');
      expect(call.attributes['http.response.status_code']).toBe(200);
      // The semantic conventions' server.address / server.port: the service the call went to.
      const service = new URL(String(call.attributes['url.full']));
      expect(serviceUrls.some((url) => url.host === service.host)).toBe(true);
      expect(call.attributes).toMatchObject({ 'server.address': service.hostname, 'server.port': Number(service.port) });
      expect(received).toContain(`00-${CALLER_TRACE_ID}-${call.spanContext().spanId}-01`);
    }
    // ... and every request the services received carried this trace.
    expect(received.length).toBe(calls.length);
    for (const traceparent of received) expect(traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-01$`));
  });

  it('requests in flight together keep their own traces: each call and Redis command under its own request', async () => {
    // The context is not carried by AsyncLocalStorage (tracing/sync-context.ts): each request's
    // later work finds its trace explicitly, so interleaved requests must not borrow each other's.
    const traceIds = Array.from({ length: 8 }, (_, i) => `${String(i + 1).padStart(2, '0')}${CALLER_TRACE_ID.slice(2)}`);
    const responses = await Promise.all(
      traceIds.map((traceId) => gateway.gql(DEMO_TOKENS.globexAdmin, HOME, undefined, { traceparent: `00-${traceId}-${CALLER_SPAN_ID}-01` })),
    );
    for (const response of responses) expect(response.body.errors).toBeUndefined();
    const received = Object.values(gateway.sampleServices.services).flatMap((service) => service.requests().map((r) => r.traceparent));
    let totalCalls = 0;
    for (const traceId of traceIds) {
      const spans = await traceOf(traceId);
      const operation = one(spans, 'query');
      const decision = one(childrenOf(spans, operation), 'limit decision');
      // Redis commands: under the decision, or under the server span for a check sent at the door
      // (an operation text seen before); a decision served from a lease sends none.
      for (const command of spans.filter((s) => s.attributes['db.system.name'] === 'redis')) {
        const parent = spans.find((s) => s.spanContext().spanId === command.parentSpanContext?.spanId);
        expect([decision.name, 'POST /graphql']).toContain(parent?.name);
      }
      // (The field cache may answer a request's fields from another's calls: fewer calls, never borrowed ones.)
      const calls = childrenOf(spans, operation).filter((s) => s.kind === SpanKind.CLIENT);
      totalCalls += calls.length;
      // Every span of the trace hangs from its own server span: none is orphaned or adopted.
      const ids = new Set(spans.map((s) => s.spanContext().spanId));
      for (const span of spans) if (span.name !== 'POST /graphql') expect(ids.has(span.parentSpanContext?.spanId ?? '')).toBe(true);
      // What the services received under this trace is exactly this request's calls.
      const ofThisTrace = received.filter((t) => t?.startsWith(`00-${traceId}-`));
      expect(ofThisTrace.sort()).toEqual(calls.map((c) => `00-${traceId}-${c.spanContext().spanId}-01`).sort());
    }
    expect(totalCalls).toBeGreaterThanOrEqual(3);
    expect(received.length).toBe(totalCalls);
  });

  it('a refused operation: the operation span says refused and by what, the limit decision span too', async () => {
    const expensive = '{ customers(first: 100) { edges { node { name orders(first: 100) { id total { formatted } } } } } }';
    const response = await gateway.gql(DEMO_TOKENS.acmeAdmin, expensive, undefined, { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
    const spans = await traceOf(CALLER_TRACE_ID);
    const operation = one(spans, 'query');
    expect(operation.attributes).toMatchObject({ 'gateway.limit.decision': 'refused', 'gateway.limit.refused_by': 'max-cost', 'gateway.plan.id': 'free' });
    // Nothing executed: its actual cost is nought, as the response says.
    expect(operation.attributes['gateway.cost.actual']).toBe(0);
    expect(response.body.extensions?.cost?.actual).toBe(0);
    expect(one(spans, 'limit decision').attributes).toMatchObject({ 'gateway.limit.decision': 'refused', 'gateway.limit.refused_by': 'max-cost' });
    // Nothing executed: no downstream call.
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT && s.attributes['http.request.method'])).toEqual([]);
  });

  it('a request answered at the door: its server span with its status, and no operation', async () => {
    const response = await gateway.gql('not-a-key', '{ viewer { tenant { displayName } } }', undefined, {
      traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`,
    });
    expect(response.status).toBe(401);
    const spans = await traceOf(CALLER_TRACE_ID);
    const server = one(spans, 'POST /graphql');
    expect(server.attributes['http.response.status_code']).toBe(401);
    // A 4xx is the caller's doing, not a failure of the gateway.
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    // What the door did is below it: the failed attempt counted per address in Redis (limits/auth-guard.ts).
    const below = spans.filter((s) => s !== server);
    expect(below.length).toBeGreaterThan(0);
    for (const span of below) {
      expect(span.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
      expect(span.attributes['db.system.name']).toBe('redis');
    }
  });

  it('a client that leaves while its request runs: the server span still ends, as an error, with the operation below it', async () => {
    gateway.sampleServices.services.catalog.setKnobs({ latencyMs: 500 });
    const sent = postOnOwnConnection(gateway.url, DEMO_TOKENS.globexAdmin, {
      body: JSON.stringify({ query: '{ product(id: "prd_1") { name } }' }),
      headers: { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` },
    });
    expect(await eventually(() => gateway.sampleServices.services.catalog.requests().length === 1)).toBe(true);
    sent.destroy();
    const { spans, server } = await leftTraceOf(CALLER_TRACE_ID);
    expect(server.attributes['http.response.status_code']).toBeUndefined();
    expect(childrenOf(spans, server).map((s) => s.name)).toEqual(['query']);
  });

  it('a request whose body is cut short: its server span ends with the connection, as an error, with no operation', async () => {
    const sent = postOnOwnConnection(gateway.url, DEMO_TOKENS.globexAdmin, {
      contentLength: 1000,
      headers: { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` },
    });
    sent.write('{"query":"{ viewer');
    await new Promise((resolve) => setTimeout(resolve, 100));
    sent.destroy();
    const { spans, server } = await leftTraceOf(CALLER_TRACE_ID);
    expect(childrenOf(spans, server)).toEqual([]);
  });

  it('a refusal from memory is traced too: with tracing on, the front door leaves every request to the traced route', async () => {
    // acme (Free): its minute and its burst zone used up, then refused by Redis once (remembered).
    let refused = 0;
    for (let i = 0; i < 200 && refused < 2; i++) if ((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status === 429) refused++;
    expect(refused).toBe(2);
    // The next refusals come from memory while the store's refusal lasts; on a loaded machine one
    // may come late enough for Redis to decide it again: each try has its own trace, and the one
    // answered from memory (the route's count went up) is the one looked at.
    const fromMemory = async () =>
      Number(/^limit_local_refusals_total\{door="route"\} (\d+)/m.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ?? 0);
    let traceId: string | undefined;
    for (let i = 0; i < 20 && traceId === undefined; i++) {
      const before = await fromMemory();
      const tryTrace = `${String(i + 10).padStart(2, '0')}${CALLER_TRACE_ID.slice(2)}`;
      const response = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }', undefined, { traceparent: `00-${tryTrace}-${CALLER_SPAN_ID}-01` });
      expect(response.status).toBe(429);
      if ((await fromMemory()) > before) traceId = tryTrace;
    }
    expect(traceId).toBeDefined();
    const server = one(await traceOf(traceId!), 'POST /graphql');
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 429, 'gateway.tenant.id': 'acme' });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^limit_local_refusals_total\{door="front"\}/m);
  });
});

describe('a request waiting for admission', () => {
  it('whose client leaves: its server span ends, as an error, with no operation; the request it waited behind is traced whole', async () => {
    exporter = new InMemorySpanExporter();
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.server.url },
      traceExporter: exporter,
      // One of globex's (Pro) requests at a time on this instance: a second one waits.
      patch: (config) => {
        config.plans.pro.admission = { ...config.plans.pro.admission, maxInFlight: 1 };
      },
    });
    const WAITING_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
    gateway.sampleServices.services.catalog.setKnobs({ latencyMs: 800 });
    const running = gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_1") { name } }', undefined, {
      traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`,
    });
    expect(await eventually(() => gateway.sampleServices.services.catalog.requests().length === 1)).toBe(true);
    const waiting = postOnOwnConnection(gateway.url, DEMO_TOKENS.globexAdmin, {
      body: JSON.stringify({ query: '{ product(id: "prd_2") { name } }' }),
      headers: { traceparent: `00-${WAITING_TRACE_ID}-${CALLER_SPAN_ID}-01` },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    waiting.destroy();
    const left = await leftTraceOf(WAITING_TRACE_ID);
    expect(childrenOf(left.spans, left.server)).toEqual([]);
    expect((await running).status).toBe(200);
    const whole = await traceOf(CALLER_TRACE_ID);
    expect(one(whole, 'POST /graphql').attributes['http.response.status_code']).toBe(200);
    // The one that left never ran: catalog was asked once.
    expect(gateway.sampleServices.services.catalog.requests()).toHaveLength(1);
  });
});

describe('sampling', () => {
  it('an unsampled request exports nothing and still tells downstream services its trace, marked not sampled', async () => {
    exporter = new InMemorySpanExporter();
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.server.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
      traceExporter: exporter,
    });
    const response = await gateway.gql(DEMO_TOKENS.globexAdmin, HOME);
    expect(response.status).toBe(200);
    const received = Object.values(gateway.sampleServices.services).flatMap((service) => service.requests().map((r) => r.traceparent));
    expect(received.length).toBeGreaterThan(0);
    for (const traceparent of received) expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // A caller's sampled trace is kept all the same (parent-based).
    await gateway.gql(DEMO_TOKENS.globexAdmin, HOME, undefined, { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` });
    await traceOf(CALLER_TRACE_ID);
    expect(exporter.getFinishedSpans().every((s) => s.spanContext().traceId === CALLER_TRACE_ID)).toBe(true);
  });

  it('at 50 %: a new trace is kept exactly when the ratio sampler keeps its trace id, the id its downstream calls are told', async () => {
    exporter = new InMemorySpanExporter();
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.server.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' },
      traceExporter: exporter,
    });
    // A search of its own per request: never answered from the cache, so each one calls catalog.
    for (let i = 0; i < 24; i++) expect((await gateway.gql(DEMO_TOKENS.globexAdmin, `{ products(search: "ratio-${i}", first: 1) { id } }`)).status).toBe(200);
    const told = gateway.sampleServices.services.catalog.requests().map((r) => r.traceparent!.split('-'));
    expect(told).toHaveLength(24);
    const ratio = new TraceIdRatioBasedSampler(0.5);
    const keeps = (traceId: string) => ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
    const kept = told.filter(([, traceId, , flags]) => {
      expect(flags).toBe(keeps(traceId!) ? '01' : '00');
      return flags === '01';
    });
    // Both decisions were taken (each has odds of 2^-24 of never coming up).
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(24);
    // Every kept trace is exported whole (with a Redis command when its limit check went to Redis), under the id its calls were told; nothing else is exported.
    for (const [, traceId] of kept) {
      expect((await traceOf(traceId!)).map((s) => s.name)).toEqual(expect.arrayContaining(['POST /graphql', 'query', 'limit decision', 'GET']));
    }
    const exported = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
    expect([...exported].sort()).toEqual(kept.map(([, traceId]) => traceId).sort());
  });
});

describe('tracing off (the default)', () => {
  it('no OTEL_TRACES_EXPORTER: downstream services get no traceparent', async () => {
    gateway = await startTestGateway({ env: { REDIS_URL: redis.server.url } });
    const response = await gateway.gql(DEMO_TOKENS.globexAdmin, HOME, undefined, { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` });
    expect(response.status).toBe(200);
    const received = Object.values(gateway.sampleServices.services).flatMap((service) => service.requests().map((r) => r.traceparent));
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((traceparent) => traceparent === null)).toBe(true);
  });

  it('OTEL_SDK_DISABLED=true wins over an exporter', async () => {
    exporter = new InMemorySpanExporter();
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.server.url, OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'console' },
      traceExporter: exporter,
    });
    expect((await gateway.gql(DEMO_TOKENS.globexAdmin, HOME)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
