import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { KeyedCounter, KeyedHistogram } from './keyed-metrics.js';

/**
 * Which tenant ids may appear as the `tenant` label: `none` (every series says `all`), `all`
 * (every tenant id: only for fleets with a small, known number of tenants), or a list (listed
 * tenants by id, everyone else `other`). Bounded cardinality: never a user, client key or IP.
 */
export type TenantLabels = 'none' | 'all' | string[];

export interface MetricsOptions {
  /** Which tenant ids may be label values; others are `other` (default of the caller: `none`). */
  tenantLabels: TenantLabels;
}

/** Breaker states as gauge values: 0 closed, 1 half-open, 2 open (cockatiel's `isolated` is open). */
export type BreakerState = 'closed' | 'half-open' | 'open' | 'isolated';

export interface Metrics {
  /** This gateway's own registry (not prom-client's global one), with the default process metrics. */
  registry: Registry;
  /**
   * `graphql_requests_total{plan,status,root_field,tenant}`. status: ok | error | throttled.
   * Incremented ONCE PER ROOT FIELD of the request (a request selecting `a` and `b` adds 1 to
   * `root_field="a"` and 1 to `root_field="b"`); an operation that never resolved (parse or
   * validation error) counts once with `root_field="none"`. Sum over root_field therefore counts
   * root fields, not requests: use graphql_request_duration_seconds_count for request counts.
   */
  requests: KeyedCounter<'plan' | 'status' | 'root_field' | 'tenant'>;
  /** `graphql_throttled_total{plan,dimension,tenant}`: dimension = the refused dimension's kind (requests|quota|cost|bandwidth|field). Once per throttled request. */
  throttled: KeyedCounter<'plan' | 'dimension' | 'tenant'>;
  /**
   * `limit_shadow_refusals_total{plan,shadow_plan,policy,tenant}`: requests a shadow limit would have
   * refused (src/shadow/), by the policy that would have refused (`minute`, `day`, `cost-minute`,
   * `max-cost`, ...); `plan` is the enforced plan. Counted by the instance that decided.
   */
  shadowRefusals: KeyedCounter<'plan' | 'shadow_plan' | 'policy' | 'tenant'>;
  /** `graphql_request_duration_seconds{plan,status}`: from request start to response, once per request. */
  requestDuration: KeyedHistogram<'plan' | 'status'>;
  /** `limit_check_duration_seconds{source}`: one limiter call; source shared | local | unavailable. */
  limitCheckDuration: KeyedHistogram<'source'>;
  /**
   * `limit_throttle_delay_seconds{plan}`: how long a request held in its plan's burst zone
   * (graduated throttling) waited before it ran; its `_count` is the requests held. Once per held request.
   */
  throttleDelay: KeyedHistogram<'plan'>;
  /**
   * `limit_early_checks_total{outcome}`: checks sent at the door for an operation seen before;
   * outcome used (the decision served the request) | refunded (the request was charged on other
   * dimensions or never reached the check, and the early charge was given back).
   */
  limitEarlyChecks: KeyedCounter<'outcome'>;
  /**
   * `limit_lease_tokens_total{outcome}`: requests' amounts reserved by leases (outcome granted),
   * served from them without a round trip (used), given back unused (refunded). granted = used +
   * refunded + what leases hold now.
   */
  limitLeaseTokens: KeyedCounter<'outcome'>;
  /** `limit_local_refusals_total{door}`: requests answered 429 from a refusal remembered at the door, without a store call or parsing; door front (before Fastify) | route (the route's hook). */
  limitLocalRefusals: KeyedCounter<'door'>;
  /** `graphql_operation_cost{kind,plan}`: cost points per operation; kind requested (estimate) | actual | refused (the estimate of a refused operation). */
  cost: KeyedHistogram<'kind' | 'plan'>;
  /** Estimated / actual cost of each executed request whose actual cost is above 0 (cost calibration). */
  costRatio: KeyedHistogram<'plan'>;
  /** `cache_requests_total{field,result}`: result hit | miss | stale; field = `Type.field` of the cached field. */
  cacheRequests: KeyedCounter<'field' | 'result'>;
  /** `cache_refused_total{field,reason}`: resolved values not stored; reason scope (narrowed) | identity | parent. */
  cacheRefused: KeyedCounter<'field' | 'reason'>;
  /** `downstream_request_duration_seconds{service,outcome}`: one downstream call, retries included; outcome ok | error. */
  downstreamDuration: KeyedHistogram<'service' | 'outcome'>;
  /** `downstream_errors_total{service,code}`: code = the gateway error code or HTTP status of the failure. */
  downstreamErrors: KeyedCounter<'service' | 'code'>;
  /** `downstream_breaker_state{service}`: 0 closed, 1 half-open, 2 open. Set from an `onCollect` callback. */
  downstreamBreaker: Gauge<'service'>;
  /**
   * `downstream_queue_wait_seconds{service,priority,plan}`: how long a call waited for a slot of
   * its service (0 when one was free), once per call that got one. plan = the caller's plan id,
   * `unknown` when the call context does not carry it.
   */
  downstreamQueueWait: KeyedHistogram<'service' | 'priority' | 'plan'>;
  /**
   * `downstream_shed_total{service,priority,plan,reason}`: calls that got no slot
   * (DOWNSTREAM_OVERLOADED). Shed on arrival: reason queue_full | tenant_queue_full |
   * expected_wait; dropped after waiting: shed (for a more urgent call) | queue_timeout.
   */
  downstreamShed: KeyedCounter<'service' | 'priority' | 'plan' | 'reason'>;
  /** `downstream_queue_depth{service,priority}`: calls waiting for a slot now. Set from an `onCollect` callback. */
  downstreamQueueDepth: Gauge<'service' | 'priority'>;
  /** `downstream_in_flight{service}`: slots in use now. Set from an `onCollect` callback. */
  downstreamInFlight: Gauge<'service'>;
  /** `downstream_concurrency_limit{service}`: the service's concurrency limit now (adaptive, or maxInFlight). Set from an `onCollect` callback. */
  downstreamConcurrencyLimit: Gauge<'service'>;
  /** `admission_wait_seconds{priority,plan}`: how long an admitted request waited for its turn on the instance (0 when it had room). */
  admissionWait: KeyedHistogram<'priority' | 'plan'>;
  /**
   * `admission_refused_total{priority,plan,reason}`: requests not admitted. Over the tenant's own
   * share (429): tenant_queue_full | tenant_wait; the instance saturated (503): queue_full |
   * expected_wait | shed | queue_timeout.
   */
  admissionRefused: KeyedCounter<'priority' | 'plan' | 'reason'>;
  /** `admission_queue_depth{priority}`: requests waiting for the instance now (tenants' own queues not included). Set from an `onCollect` callback. */
  admissionQueueDepth: Gauge<'priority'>;
  /** `admission_in_flight`: requests admitted and not yet answered. Set from an `onCollect` callback. */
  admissionInFlight: Gauge;
  /** `admission_limit`: the instance's concurrency limit now (shrinks while the event loop lags). Set from an `onCollect` callback. */
  admissionLimit: Gauge;
  /** `redis_errors_total{component}`: component limits | cache | usage | alerts | ... */
  redisErrors: KeyedCounter<'component'>;
  /** `redis_breaker_state{component}`: 0 closed, 1 half-open, 2 open. Set from an `onCollect` callback. */
  redisBreaker: Gauge<'component'>;
  /** `usage_flush_lag_seconds`: age of the oldest metering event not yet flushed (0 when the buffer is empty). */
  meteringFlushLag: Gauge;
  /** `usage_buffered_events`: metering events waiting in this process's buffer. */
  meteringBuffered: Gauge;
  /** The `tenant` label value for a tenant id, applying `tenantLabels`. */
  tenantLabel(tenantId: string): string;
  /** Runs `callback` before every scrape of `registry` (for gauges fed from state: breakers, meter stats). */
  onCollect(callback: () => void): void;
  /** The answer to GET /metrics: Prometheus text format 0.0.4. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Histogram buckets, in seconds unless noted. Prometheus interpolates quantiles inside a bucket,
 * so buckets are dense where the SLOs and alert thresholds are.
 */
export const BUCKETS = {
  /** Whole GraphQL requests: 5 ms (cached, throttled) to 10 s (the slowest downstream deadline). Alert p99 > 2 s. */
  request: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  /** One limiter call: a local Redis round trip is ~0.1–1 ms; the store timeout is tens of ms. */
  limitCheck: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  /** A hold in a burst zone: up to its plan's maxDelayMs (a minute at most; the demo Free plan 3 s). */
  throttleDelay: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  /** Cost in points, not seconds: a single-object query costs ~1–10, big list pages hundreds to thousands. */
  cost: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
  /** Estimated / actual cost: 1 is exact, above 1 overcharged (the spec's estimate is an upper bound), below 1 undercharged. Issue 23's target: median in [1, 1.5]. */
  costRatio: [0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10, 25, 100],
  /** One downstream call including retries: 1 ms (same host) to 10 s (total deadline). */
  downstream: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /** A call's wait for a slot: most get one at once (first bucket), a queued one waits up to its deadline (5 s by default). */
  queueWait: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
} as const;

/** The gauge value of a breaker state: 0 closed, 1 half-open, 2 open (and isolated). */
export function breakerStateValue(state: BreakerState): 0 | 1 | 2 {
  return state === 'closed' ? 0 : state === 'half-open' ? 1 : 2;
}

/** A registry that runs the `onCollect` callbacks before every scrape, whoever asks for it. */
class CollectingRegistry extends Registry {
  readonly callbacks: (() => void)[] = [];
  /** Set once the counter exists; a callback that throws is counted, and the scrape goes on. */
  failures: Counter | null = null;

  private runCallbacks(): void {
    for (const callback of this.callbacks) {
      try {
        callback();
      } catch {
        this.failures?.inc();
      }
    }
  }

  override async metrics(): Promise<string> {
    this.runCallbacks();
    return super.metrics();
  }

  override async getMetricsAsJSON() {
    this.runCallbacks();
    return super.getMetricsAsJSON();
  }
}

/** The gateway's Prometheus metrics. One per process (names are unique within its registry). */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new CollectingRegistry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const tenantLabels = options.tenantLabels;
  const allowed = Array.isArray(tenantLabels) ? new Set(tenantLabels) : null;
  const tenantLabel = (tenantId: string): string => {
    if (tenantLabels === 'none') return 'all';
    if (tenantLabels === 'all') return tenantId;
    return allowed!.has(tenantId) ? tenantId : 'other';
  };

  registry.failures = new Counter({
    name: 'metrics_collect_errors_total',
    help: 'onCollect callbacks that threw during a scrape (the scrape still answers, with stale gauges)',
    registers,
  });

  return {
    registry,
    ...requestAndLimitMetrics(registers),
    ...cacheAndDownstreamMetrics(registers),
    ...admissionMetrics(registers),
    ...storeMetrics(registers),
    tenantLabel,
    onCollect: (callback) => {
      registry.callbacks.push(callback);
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** The metrics of the request path: requests, refusals, durations, cost, limit checks and leases. */
function requestAndLimitMetrics(
  registers: Registry[],
): Pick<
  Metrics,
  | 'requests'
  | 'throttled'
  | 'shadowRefusals'
  | 'requestDuration'
  | 'limitCheckDuration'
  | 'throttleDelay'
  | 'limitEarlyChecks'
  | 'limitLocalRefusals'
  | 'limitLeaseTokens'
  | 'cost'
  | 'costRatio'
> {
  return {
    requests: new KeyedCounter({
      name: 'graphql_requests_total',
      help: 'GraphQL requests, counted once per root field selected (root_field="none" when the operation never resolved)',
      labelNames: ['plan', 'status', 'root_field', 'tenant'],
      registers,
    }),
    throttled: new KeyedCounter({
      name: 'graphql_throttled_total',
      help: 'Requests refused by a plan limit, by the kind of the refused dimension',
      labelNames: ['plan', 'dimension', 'tenant'],
      registers,
    }),
    shadowRefusals: new KeyedCounter({
      name: 'limit_shadow_refusals_total',
      help: 'Requests a shadow limit would have refused (never refused: shadow limits are not enforced), by the policy that would have refused',
      labelNames: ['plan', 'shadow_plan', 'policy', 'tenant'],
      registers,
    }),
    requestDuration: new KeyedHistogram({
      name: 'graphql_request_duration_seconds',
      help: 'GraphQL request duration in seconds, from request start to response',
      labelNames: ['plan', 'status'],
      buckets: [...BUCKETS.request],
      registers,
    }),
    limitCheckDuration: new KeyedHistogram({
      name: 'limit_check_duration_seconds',
      help: 'Duration of one limit check in seconds, by where the decision came from',
      labelNames: ['source'],
      buckets: [...BUCKETS.limitCheck],
      registers,
    }),
    throttleDelay: new KeyedHistogram({
      name: 'limit_throttle_delay_seconds',
      help: "Time a request held in its plan's burst zone (graduated throttling) waited before it ran, by plan",
      labelNames: ['plan'],
      buckets: [...BUCKETS.throttleDelay],
      registers,
    }),
    limitEarlyChecks: new KeyedCounter({
      name: 'limit_early_checks_total',
      help: 'Limit checks sent before the operation was resolved (operation seen before), by outcome: used | refunded',
      labelNames: ['outcome'],
      registers,
    }),
    limitLocalRefusals: new KeyedCounter({
      name: 'limit_local_refusals_total',
      help: 'Requests answered 429 at the door from a refusal the limit store made moments before (no store call, no parsing), by door: front (before the HTTP framework) | route (the route hook: browsers, per-address refusals)',
      labelNames: ['door'],
      registers,
    }),
    limitLeaseTokens: new KeyedCounter({
      name: 'limit_lease_tokens_total',
      help: 'Requests reserved by limit leases (granted), served from them without a Redis round trip (used), given back unused (refunded)',
      labelNames: ['outcome'],
      registers,
    }),
    cost: new KeyedHistogram({
      name: 'graphql_operation_cost',
      help: 'Operation cost in points: kind="requested" is the estimate before execution, kind="actual" after; kind="refused" the estimate of an operation refused by a limit (it consumed nothing)',
      labelNames: ['kind', 'plan'],
      buckets: [...BUCKETS.cost],
      registers,
    }),
    costRatio: new KeyedHistogram({
      name: 'graphql_operation_cost_ratio',
      help: 'Estimated over actual cost per executed operation (actual above 0): above 1 the estimate overcharged, below 1 it undercharged',
      labelNames: ['plan'],
      buckets: [...BUCKETS.costRatio],
      registers,
    }),
  };
}

/** The metrics of the field cache and the downstream services: calls, breakers, fair queues, adaptive limits. */
function cacheAndDownstreamMetrics(
  registers: Registry[],
): Pick<
  Metrics,
  | 'cacheRequests'
  | 'cacheRefused'
  | 'downstreamDuration'
  | 'downstreamErrors'
  | 'downstreamBreaker'
  | 'downstreamQueueWait'
  | 'downstreamShed'
  | 'downstreamQueueDepth'
  | 'downstreamInFlight'
  | 'downstreamConcurrencyLimit'
> {
  return {
    cacheRequests: new KeyedCounter({
      name: 'cache_requests_total',
      help: 'Cached-field lookups by field and result (hit, miss, stale)',
      labelNames: ['field', 'result'],
      registers,
    }),
    cacheRefused: new KeyedCounter({
      name: 'cache_refused_total',
      help: 'Resolved values of cached fields not stored: scope (the resolver read more of the caller than its scope; field narrowed), identity (not the object its key names), parent (computed from a parent loaded before its token)',
      labelNames: ['field', 'reason'],
      registers,
    }),
    downstreamDuration: new KeyedHistogram({
      name: 'downstream_request_duration_seconds',
      help: 'Duration of one downstream service call in seconds, retries included',
      labelNames: ['service', 'outcome'],
      buckets: [...BUCKETS.downstream],
      registers,
    }),
    downstreamErrors: new KeyedCounter({
      name: 'downstream_errors_total',
      help: 'Failed downstream service calls by service and error code',
      labelNames: ['service', 'code'],
      registers,
    }),
    downstreamBreaker: new Gauge({
      name: 'downstream_breaker_state',
      help: 'Downstream circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['service'],
      registers,
    }),
    downstreamQueueWait: new KeyedHistogram({
      name: 'downstream_queue_wait_seconds',
      help: 'Time a downstream call waited for a slot of its service, by priority class and plan (0 when a slot was free)',
      labelNames: ['service', 'priority', 'plan'],
      buckets: [...BUCKETS.queueWait],
      registers,
    }),
    downstreamShed: new KeyedCounter({
      name: 'downstream_shed_total',
      help: 'Downstream calls that got no slot (DOWNSTREAM_OVERLOADED), by reason: queue_full, tenant_queue_full, expected_wait (on arrival), shed, queue_timeout (after waiting)',
      labelNames: ['service', 'priority', 'plan', 'reason'],
      registers,
    }),
    downstreamQueueDepth: new Gauge({
      name: 'downstream_queue_depth',
      help: 'Downstream calls waiting for a slot of their service now, by priority class',
      labelNames: ['service', 'priority'],
      registers,
    }),
    downstreamInFlight: new Gauge({
      name: 'downstream_in_flight',
      help: 'Downstream calls holding a slot of their service now',
      labelNames: ['service'],
      registers,
    }),
    downstreamConcurrencyLimit: new Gauge({
      name: 'downstream_concurrency_limit',
      help: "A downstream service's concurrency limit now: adaptive between minInFlight and maxInFlight, or maxInFlight",
      labelNames: ['service'],
      registers,
    }),
  };
}

/** The metrics of fair admission at the door: waits, refusals, queues. */
function admissionMetrics(
  registers: Registry[],
): Pick<Metrics, 'admissionWait' | 'admissionRefused' | 'admissionQueueDepth' | 'admissionInFlight' | 'admissionLimit'> {
  return {
    admissionWait: new KeyedHistogram({
      name: 'admission_wait_seconds',
      help: 'Time an admitted request waited for its turn on this instance, by priority class and plan (0 when the instance had room)',
      labelNames: ['priority', 'plan'],
      buckets: [...BUCKETS.queueWait],
      registers,
    }),
    admissionRefused: new KeyedCounter({
      name: 'admission_refused_total',
      help: "Requests not admitted: over the tenant's own share (tenant_queue_full, tenant_wait: 429) or the instance saturated (queue_full, expected_wait, shed, queue_timeout: 503)",
      labelNames: ['priority', 'plan', 'reason'],
      registers,
    }),
    admissionQueueDepth: new Gauge({
      name: 'admission_queue_depth',
      help: 'Requests waiting for their turn on this instance now, by priority class',
      labelNames: ['priority'],
      registers,
    }),
    admissionInFlight: new Gauge({ name: 'admission_in_flight', help: 'Requests admitted on this instance and not yet answered', registers }),
    admissionLimit: new Gauge({
      name: 'admission_limit',
      help: "This instance's concurrency limit now: admission.maxInFlight, less while its event loop lags",
      registers,
    }),
  };
}

/** The metrics of Redis and the usage meter. */
function storeMetrics(registers: Registry[]): Pick<Metrics, 'redisErrors' | 'redisBreaker' | 'meteringFlushLag' | 'meteringBuffered'> {
  return {
    redisErrors: new KeyedCounter({
      name: 'redis_errors_total',
      help: 'Failed Redis commands by the component that issued them',
      labelNames: ['component'],
      registers,
    }),
    redisBreaker: new Gauge({
      name: 'redis_breaker_state',
      help: 'Redis circuit breaker state per component: 0 closed, 1 half-open, 2 open',
      labelNames: ['component'],
      registers,
    }),
    meteringFlushLag: new Gauge({
      name: 'usage_flush_lag_seconds',
      help: 'Age in seconds of the oldest metering event not yet flushed to the usage store (0 when none)',
      registers,
    }),
    meteringBuffered: new Gauge({
      name: 'usage_buffered_events',
      help: 'Metering events buffered in this process, waiting for the next flush',
      registers,
    }),
  };
}
