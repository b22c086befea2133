import { isIP } from 'node:net';
import { z } from 'zod';
import { isPlainObject } from '../jsutils/is-plain-object.js';
import { auditSchema, billingSchema } from './billing-schema.js';

/**
 * The gateway's configuration file (YAML), validated with zod. Every default lives here, next
 * to the field it belongs to, so the schema doubles as the reference for the file format.
 */

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the token (64 characters)');

const identifier = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lowercase letters, digits, "-" or "_" (1-63 characters)');

export const ROLES = ['admin', 'support', 'viewer'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** `host:port` of a Redis node (a hostname, an IPv4 address or a bracketed IPv6 address). */
export const redisNodeAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port (e.g. "10.0.0.5:6379")')
  .refine((address) => Number(address.slice(address.lastIndexOf(':') + 1)) <= 65535, 'port must be 1-65535');

/**
 * A Redis Cluster: seed nodes (any reachable subset; the client learns the rest from CLUSTER
 * SLOTS) and what a production cluster needs besides. Overridden by REDIS_CLUSTER_NODES
 * (comma-separated), REDIS_USERNAME and REDIS_PASSWORD.
 */
export const redisClusterSchema = z
  .strictObject({
    /** Seed nodes, `host:port`; at least one. */
    nodes: z.array(redisNodeAddress).min(1, 'must name at least one seed node (host:port)'),
    /** ACL user (Redis 6+); absent: the default user. */
    username: z.string().min(1).optional(),
    /** Password (of `username`, or `requirepass`); absent: no AUTH. Prefer REDIS_PASSWORD over the file. */
    password: z.string().min(1).optional(),
    /** TLS to every node (managed clusters: ElastiCache, Memorystore, Azure), default false. */
    tls: z.boolean().default(false),
    /** PEM file of the CA that signed the nodes' certificates; absent: the system CAs. Needs `tls`. */
    tlsCaFile: z.string().min(1).optional(),
    /**
     * Address translation, `"announced host:port": "reachable host:port"`, for nodes that announce
     * addresses the gateway cannot reach (NAT, Docker port mapping). Absent: the announced ones.
     */
    natMap: z
      .record(z.string(), redisNodeAddress)
      .superRefine((map, ctx) => {
        for (const key of Object.keys(map)) {
          if (!redisNodeAddress.safeParse(key).success)
            ctx.addIssue({ code: 'custom', path: [key], message: `must be keyed by host:port (the address a node announces), got "${key}"` });
        }
      })
      .optional(),
  })
  .refine((cluster) => cluster.tls || !cluster.tlsCaFile, { message: 'tlsCaFile needs tls: true', path: ['tlsCaFile'] });

/** A count per window, or `unlimited`. */
const quota = z.union([z.number().int().nonnegative(), z.literal('unlimited')], {
  error: 'must be a whole number >= 0 or "unlimited"',
});

/**
 * A plan's limits. Every field is optional so a tenant's `overrides` can name just what changes;
 * a limit that is absent is not enforced. The limits issue gives them their meaning.
 */
export const planLimitsSchema = z.strictObject({
  /** Requests per rolling minute. */
  requestsPerMinute: quota.optional(),
  /** Requests per calendar day (tenant time zone, UTC by default). */
  requestsPerDay: quota.optional(),
  /** Requests per calendar month. */
  requestsPerMonth: quota.optional(),
  /** Cost points per rolling minute. */
  costPerMinute: quota.optional(),
  /** Highest estimated cost one operation may have. */
  maxOperationCost: quota.optional(),
  /** Response bytes per rolling hour. */
  responseBytesPerHour: quota.optional(),
  /** Per root field limits, e.g. `Mutation.placeOrder: { limit: 20, windowSeconds: 60 }`. */
  fieldLimits: z
    .record(
      z.string().regex(/^(Query|Mutation)\.[_A-Za-z][_0-9A-Za-z]*$/, 'must look like Query.field or Mutation.field'),
      z.strictObject({ limit: z.number().int().positive(), windowSeconds: z.number().int().positive() }),
    )
    .optional(),
  /** Share of the tenant's per-minute requests one API key may use, 0 < share <= 1. */
  perClientShare: z.number().gt(0).lte(1).optional(),
  /** Requests per rolling minute from one IP inside the tenant. */
  perIpPerMinute: quota.optional(),
  /**
   * Graduated throttling of `requestsPerMinute` (README, "Graduated throttling"): up to `requests`
   * beyond the limit are held, each until the rolling minute has room for it, instead of refused,
   * when that is at most `maxDelayMs` away (1 to 60,000); past either, 429 as without it. The
   * per-key share (`perClientShare`) holds the same share of it. Absent: no burst zone.
   */
  burst: z
    .strictObject({
      requests: z.number().int().positive(),
      maxDelayMs: z.number().int().positive().max(60_000),
    })
    .optional(),
});
export type PlanLimits = z.infer<typeof planLimitsSchema>;

/**
 * A limit change deployed in shadow (src/shadow/SHADOW.md): evaluated with every request of the
 * tenants it covers, on its own counters, as if it were enforced instead; never enforced, never
 * in a response. `plan`: the plan evaluated instead of the tenant's own (absent: its own); `limits`:
 * values over it, after the tenant's overrides (one limit in shadow: name just that one).
 */
export const shadowSpecSchema = z.strictObject({
  plan: identifier.optional(),
  limits: planLimitsSchema.default({}),
});
export type ShadowSpec = z.infer<typeof shadowSpecSchema>;

/**
 * How much of the trusted-document store one tenant may hold; a document's size is what the store
 * keeps of it (the JSON of its text, name, example variables and operations, UTF-8 bytes).
 */
const trustedDocumentCapsSchema = z.strictObject({
  /** Documents one tenant may keep registered. */
  maxDocuments: z.number().int().positive(),
  /** Bytes all of one tenant's documents may take together. */
  maxBytes: z.number().int().positive(),
});

export const planSchema = z.strictObject({
  displayName: z.string().min(1),
  limits: planLimitsSchema.default({}),
  /** This plan's caps of trusted documents per tenant, over `trustedDocuments` (either one or both); absent: those. */
  trustedDocuments: trustedDocumentCapsSchema.partial().optional(),
  /** What to do when the shared limit store is unreachable: `open` serves with local limits. */
  onStoreFailure: z.enum(['open', 'closed']).default('open'),
  /** Limits evaluated in shadow for every tenant on this plan (a tenant's own `shadow` replaces it); absent: none. */
  shadow: shadowSpecSchema.optional(),
  /**
   * This plan's share of one instance when it is saturated (src/admission/): `weight` (default 1)
   * in the fair order of waiting requests across tenants, and `maxInFlight`, the most requests of
   * one tenant an instance runs at once (default 64); more wait their turn, in the tenant's own queue.
   */
  admission: z
    .strictObject({
      weight: z.number().positive().max(1000).default(1),
      maxInFlight: z.number().int().positive().default(64),
    })
    .prefault({}),
  /**
   * Service-level targets the dashboard tracks per day and month (src/usage/sla.ts says what
   * counts): `availability` in percent (e.g. 99.9), `latencyP95Ms` the p95 latency in ms.
   * Absent: no SLA.
   */
  sla: z
    .strictObject({
      availability: z.number().gt(0).lte(100),
      latencyP95Ms: z.number().positive(),
    })
    .optional(),
});

/** A browser origin as the `Origin` header sends it: scheme, host and port only, no path or trailing slash. */
export const browserOrigin = z.string().refine(isOrigin, {
  error: (issue) => `must be an origin like "https://app.example.com" (scheme://host[:port], no path, no wildcard; got ${JSON.stringify(issue.input)})`,
});

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

export const tenantSchema = z.strictObject({
  displayName: z.string().min(1),
  /** The tenant's plan; absent: `defaultPlan` (a tenant grandfathered into the default tier). */
  plan: identifier.optional(),
  /** IANA time zone for calendar quotas. */
  timeZone: z.string().default('UTC'),
  /** Custom limits for this tenant, over its plan's. */
  overrides: planLimitsSchema.default({}),
  /** Limits evaluated in shadow for this tenant, instead of its plan's `shadow`; absent: the plan's. */
  shadow: shadowSpecSchema.optional(),
  cors: z
    .strictObject({
      /**
       * Browser origins allowed to call the gateway with this tenant's secret API keys (an
       * internal tool). Pages on the public web use a publishable key, which names its own
       * origins. Default none: a secret key sent from a browser page on another origin is refused.
       */
      allowedOrigins: z.array(browserOrigin).default([]),
    })
    .prefault({}),
});

export const apiKeySchema = z.strictObject({
  /** Client id: names the key in logs, metrics and usage; never the secret. */
  id: identifier,
  tenant: identifier,
  role: roleSchema,
  sha256: sha256Hex,
});

export const serviceTokenSchema = z.strictObject({
  id: identifier,
  /** Service tokens act for one tenant, fixed here; the tenant never comes from a request header. */
  tenant: identifier,
  role: roleSchema.default('viewer'),
  sha256: sha256Hex,
});

/**
 * A browser-safe key: it may sit in a web page's source, so it is bound to the origins of the
 * tenant's pages, to a role that is not `admin`, optionally to root fields or to the tenant's
 * trusted documents, and limited per client address within the tenant's plan.
 */
export const publishableKeySchema = z.strictObject({
  id: identifier,
  tenant: identifier,
  /** Anyone can read the key: `admin` is refused. Default viewer. */
  role: roleSchema.exclude(['admin'], { error: 'must be viewer or support: a publishable key is public, it cannot be admin' }).default('viewer'),
  sha256: sha256Hex,
  /** Pages allowed to use the key: the request's `Origin` must be one of these (a request without one is refused). */
  allowedOrigins: z.array(browserOrigin).min(1, 'must name at least one origin'),
  /** Root fields the key may select (`Query.products`); absent: every field its role allows. */
  rootFields: z.array(z.string().regex(/^(Query|Mutation)\.[_A-Za-z][_0-9A-Za-z]*$/, 'must look like Query.field or Mutation.field')).optional(),
  /** Only the tenant's registered trusted documents may run with this key. Default false. */
  trustedDocumentsOnly: z.boolean().default(false),
  /** Requests per rolling minute from one client address with this key, on top of the plan's limits. Default 60. */
  perIpPerMinute: z.number().int().positive().default(60),
});

export const platformAdminKeySchema = z.strictObject({
  id: identifier,
  sha256: sha256Hex,
});

const ms = z.number().int().positive();

/** Proxy-addr's presets, which Fastify's `trustProxy` accepts next to addresses and CIDRs. */
const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `"10.0.0.0/8, 127.0.0.1"`: a comma-separated list of IPs, CIDRs or presets, checked here rather than at listen time. */
export const trustedProxies = z.string().refine((value) => value.split(',').every((entry) => isTrustedProxyEntry(entry.trim())), {
  error: (issue) => `must be addresses, CIDRs (10.0.0.0/8) or loopback/linklocal/uniquelocal, comma-separated (got ${JSON.stringify(issue.input)})`,
});

function isTrustedProxyEntry(entry: string): boolean {
  if (PROXY_PRESETS.has(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  // A CIDR prefix, or a dotted netmask as proxy-addr allows (`10.0.0.0/255.0.0.0`).
  if (/^\d{1,3}$/.test(bits)) return Number(bits) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(bits) === 4;
}

/** The adaptive concurrency limit's default floor: Envoy's adaptive concurrency filter uses 3, one more leaves room for a retry. */
const DEFAULT_MIN_IN_FLIGHT = 4;

export const downstreamServiceSchema = z.strictObject({
  /** Base URL; absent means "the embedded sample service", started in-process. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  timeouts: z
    .strictObject({
      /** TCP connect, default 1 s. */
      connectMs: ms.default(1000),
      /** Until the response headers arrive, default 2 s. */
      firstByteMs: ms.default(2000),
      /** Whole call including retries, default 5 s. */
      totalMs: ms.default(5000),
    })
    .prefault({}),
  retry: z
    .strictObject({
      /** Attempts including the first, default 3. */
      maxAttempts: z.number().int().min(1).max(10).default(3),
      /** Base of the exponential backoff, default 50 ms. */
      baseDelayMs: ms.default(50),
      /** Cap of one backoff delay, default 1 s. */
      maxDelayMs: ms.default(1000),
      /** A Retry-After longer than this (default 2 s) fails the call instead of waiting. */
      maxRetryAfterMs: ms.default(2000),
      /** Retries allowed as a share of calls, default 0.1 (10%). */
      budgetRatio: z.number().min(0).max(1).default(0.1),
      /** Retries always allowed per second regardless of the ratio, default 5. */
      minRetriesPerSecond: z.number().min(0).default(5),
    })
    .prefault({}),
  breaker: z
    .strictObject({
      /** Consecutive failures that open the breaker, default 5. */
      consecutiveFailures: z.number().int().positive().default(5),
      /** How long the breaker stays open before one trial call, default 5 s. */
      halfOpenAfterMs: ms.default(5000),
    })
    .prefault({}),
  concurrency: z
    .strictObject({
      /** Calls in flight at once, at most: the adaptive limit's ceiling (and the fixed limit with `adaptive: false`), default 64. */
      maxInFlight: z.number().int().positive().default(64),
      /** Calls waiting for a slot, all tenants together; past it the least urgent, most over-share call is shed at once, default 256. */
      maxQueue: z.number().int().nonnegative().default(256),
      /** The adaptive limit's floor, default 4 (at most `maxInFlight`): a failing or slow service keeps this many slots to show it recovered. */
      minInFlight: z.number().int().positive().optional(),
      /** Adapt the limit to the service's observed latency and failures (src/downstream/adaptive-limit.ts), default true; false: always `maxInFlight`. */
      adaptive: z.boolean().default(true),
      /** Share of the current limit, in percent, that only `critical` calls may use, default 20 (0 to 90). */
      criticalReservePercent: z.number().min(0).max(90).default(20),
      /** Calls of one tenant waiting for a slot, default a quarter of `maxQueue` (at least 1), at most `maxQueue`: one tenant cannot fill the queue. */
      maxQueuePerTenant: z.number().int().positive().optional(),
      /** Waiting this long counts as one priority class more when the queue picks whom to serve (ageing, so batch never starves), default 1 s. */
      agePerClassMs: ms.default(1000),
    })
    .superRefine((c, ctx) => {
      if (c.minInFlight !== undefined && c.minInFlight > c.maxInFlight) {
        ctx.addIssue({ code: 'custom', path: ['minInFlight'], message: `must be at most maxInFlight (${c.maxInFlight}), got ${c.minInFlight}` });
      }
      if (c.maxQueuePerTenant !== undefined && c.maxQueuePerTenant > Math.max(1, c.maxQueue)) {
        ctx.addIssue({ code: 'custom', path: ['maxQueuePerTenant'], message: `must be at most maxQueue (${c.maxQueue}), got ${c.maxQueuePerTenant}` });
      }
    })
    .transform((c) => ({
      ...c,
      minInFlight: c.minInFlight ?? Math.min(DEFAULT_MIN_IN_FLIGHT, c.maxInFlight),
      maxQueuePerTenant: c.maxQueuePerTenant ?? Math.max(1, Math.ceil(c.maxQueue / 4)),
    }))
    .prefault({}),
  /**
   * The service's own rate limit, kept across the fleet (through the limiter: Redis when
   * configured) so the gateway never causes its 429s: at most `calls` attempts in any rolling
   * `perMs`. A call over it waits, in its turn, for room within its deadline. Default none.
   */
  rateLimit: z.strictObject({ calls: z.number().int().positive(), perMs: ms }).optional(),
});
export type DownstreamServiceConfig = z.infer<typeof downstreamServiceSchema>;

export const SERVICE_NAMES = ['accounts', 'catalog', 'orders', 'inventory'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const configObject = z.strictObject({
  server: z
    .strictObject({
      /** Overridden by the PORT environment variable. Default 4000. */
      port: z.number().int().min(0).max(65535).default(4000),
      host: z.string().default('127.0.0.1'),
      /**
       * A port of its own for `GET /metrics` (and nothing else), on `metricsHost`: the public port
       * then answers 404 there, so a proxy or ingress in front of the public port cannot publish it.
       * 0 picks a free port. Unset (default): /metrics is on the public port, as in the quick start,
       * and the start-up log warns. Overridden by METRICS_PORT.
       */
      metricsPort: z.number().int().min(0).max(65535).optional(),
      /** The address the metrics port listens on; default `host`. Overridden by METRICS_HOST. */
      metricsHost: z.string().optional(),
      /**
       * The lowercase hex SHA-256 of a bearer token `GET /metrics` requires wherever it is served
       * (401 without it, `WWW-Authenticate: Bearer`); default none. Only the hash, as for API keys:
       * a leaked config file does not leak the token. METRICS_TOKEN gives the token itself.
       */
      metricsTokenSha256: sha256Hex.optional(),
      /** Largest request body, default 1 MiB. */
      bodyLimitBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024),
      /** How long SIGTERM waits for in-flight requests, default 10 s. */
      shutdownGraceMs: ms.default(10_000),
      /**
       * Which peers may tell the client's address in X-Forwarded-For (per-IP limits, the
       * failed-authentication limit, logs): `false` (default: the socket address, right when
       * clients connect directly), `true` (trust every hop: only when nothing but your proxy can
       * reach the gateway), or the proxies' addresses/CIDRs, comma-separated
       * (`"10.0.0.0/8, 127.0.0.1"`; also `loopback`, `linklocal`, `uniquelocal`), as Fastify's
       * `trustProxy`. Behind a proxy, leaving it `false` makes every client one address.
       * Overridden by TRUST_PROXY.
       */
      trustProxy: z.union([z.boolean(), trustedProxies]).default(false),
      /**
       * How large and tangled one GraphQL document may be; past any of these it is refused
       * (400 DOCUMENT_TOO_COMPLEX) before it is validated, whose cost grows faster than the
       * document. The defaults hold every operation of the dashboards and GraphiQL's
       * introspection several times over.
       */
      documentLimits: z
        .strictObject({
          /** Lexical tokens, default 5,000 (the console's largest operation has under 400). */
          maxTokens: z.number().int().positive().default(5000),
          /** Nested selection sets, fragments expanded, default 20 (introspection needs about 13). */
          maxDepth: z.number().int().positive().default(20),
          /** Aliased fields in the document, default 30. */
          maxAliases: z.number().int().nonnegative().default(30),
          /** Directives in the document, default 50. */
          maxDirectives: z.number().int().nonnegative().default(50),
          /** Fields answering to one response key in one selection set, fragments merged, default 5. */
          maxSameResponseKey: z.number().int().positive().default(5),
        })
        .prefault({}),
    })
    .prefault({}),
  redis: z
    .strictObject({
      /** One Redis server. Overridden by REDIS_URL. Absent (and no `cluster`): in-memory stores, one process. */
      url: z.string().optional(),
      /** A Redis Cluster instead of one server (README "Redis Cluster"); exclusive with `url`. */
      cluster: redisClusterSchema.optional(),
    })
    .refine((redis) => !(redis.url && redis.cluster), {
      message: 'set either url (one Redis server) or cluster (a Redis Cluster), not both',
    })
    .prefault({}),
  reload: z
    .strictObject({
      /**
       * A changed file applies only once its bytes have stayed the same this long, default 2 s:
       * longer than the pauses of a writer filling the file in pieces (`cat > file` from a
       * pipe, a slow copy), so a half-written file is never applied. Atomic renames pay it too.
       */
      settleMs: ms.default(2000),
      /**
       * A reload that would leave a tenant still in the file with no API key and no service
       * token, remove every platform-admin key, or remove every credential, is refused (it is
       * far more likely a truncated file than an intent). `true` lets such a reload apply: set
       * it for that change, then remove it again. Default false.
       */
      allowRevokingAllKeys: z.boolean().default(false),
    })
    .prefault({}),
  plans: z.record(identifier, planSchema),
  /**
   * The plan of every tenant that names none (`tenants.<id>.plan` absent), and the plan a
   * cancelled subscription returns a tenant to: existing consumers are grandfathered into it
   * during a rollout. Absent: every tenant must name its plan.
   */
  defaultPlan: identifier.optional(),
  tenants: z.record(identifier, tenantSchema),
  apiKeys: z.array(apiKeySchema).default([]),
  serviceTokens: z.array(serviceTokenSchema).default([]),
  platformAdminKeys: z.array(platformAdminKeySchema).default([]),
  publishableKeys: z.array(publishableKeySchema).default([]),
  cors: z
    .strictObject({
      /**
       * How long a browser may cache a preflight answer (Access-Control-Max-Age), default 600 s.
       * Chromium caps it at 7200. A removed origin is refused at once all the same: every actual
       * request's origin is checked again.
       */
      preflightMaxAgeSeconds: z.number().int().nonnegative().max(86_400).default(600),
    })
    .prefault({}),
  usage: z
    .strictObject({
      /** Meter every request (default). Off: a no-op meter, for benchmarks and debugging. */
      enabled: z.boolean().default(true),
      /** How often the in-process buffer is flushed, default 1 s (a crash loses at most this much). */
      flushIntervalMs: ms.default(1000),
    })
    .prefault({}),
  calibration: z
    .strictObject({
      /**
       * Cost calibration (src/calibration/): list lengths returned per field and estimated vs
       * actual cost per operation, in process, for `costCalibration` and `npm run cost -- calibrate`.
       * Default off: a sampled response is walked once more after its actual cost.
       */
      enabled: z.boolean().default(false),
      /** Observe one response in this many, default 10. */
      sampleEvery: z.number().int().positive().default(10),
      /** Distinct operations kept for pricing again, default 1,000 (each up to 16 KiB of text). */
      maxOperations: z.number().int().positive().max(100_000).default(1000),
      /**
       * How often each instance adds its list-field statistics to the fleet's in Redis, default 5 s;
       * 0: only when a report is asked for (the demo config: its Redis traffic stays the requests').
       */
      rollupIntervalMs: z.number().int().nonnegative().default(5000),
    })
    .prefault({}),
  record: z
    .strictObject({
      /**
       * The request record (src/record/RECORD.md): one compact record per request a limit decision
       * saw, for replay. In Redis when configured (about 25-35 MiB per million requests, operations included: RECORD.md), else in process. Default off.
       */
      enabled: z.boolean().default(false),
      /** Days a recorded minute is kept after its last write, default 8 (a week's replay and a day). */
      retentionDays: z.number().int().positive().max(400).default(8),
      /** How often the buffer is written, default 1 s (a crash loses at most this much). */
      flushIntervalMs: ms.default(1000),
    })
    .prefault({}),
  demo: z
    .strictObject({
      /**
       * Days of synthetic, labelled usage history written at start for every configured tenant,
       * default 0 (none). Only into the in-memory usage store: never into a shared Redis.
       */
      backfillDays: z.number().int().min(0).max(366).default(0),
      /** Light live traffic with the public demo keys (only those the config accepts), default off. */
      liveTraffic: z.boolean().default(false),
      /** Requests per minute of that traffic, across tenants, default 20. */
      liveRequestsPerMinute: z.number().int().positive().max(6000).default(20),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /**
       * Which tenant ids may appear as a `tenant` label on /metrics: `none` (default), `all`
       * (only for a bounded number of tenants), or a list (others are labelled `other`).
       */
      tenantLabels: z.union([z.enum(['none', 'all']), z.array(identifier)]).default('none'),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      /** POSTs every alert event here as JSON, signed with HMAC-SHA256 (`x-gateway-signature`). */
      webhookUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
      /** The HMAC key; required with webhookUrl. */
      webhookSecret: z.string().min(16, 'must be at least 16 characters').optional(),
      /** How often the anomaly rule is evaluated, default 60 s. */
      anomalyCheckMs: ms.default(60_000),
    })
    .refine((a) => !a.webhookUrl || a.webhookSecret, { message: 'webhookSecret is required with webhookUrl', path: ['webhookSecret'] })
    .prefault({}),
  limits: z
    .strictObject({
      /**
       * Requests per rolling minute one IP may make that end in 401 (no or bad credentials),
       * default 30. Past it the IP gets 429 before its key is even looked up (brute force).
       */
      authFailuresPerIpPerMinute: z.number().int().positive().default(30),
      /**
       * Longest a limit check waits for Redis's reply, counted from when the command was written
       * (a reply already received always wins, however busy the gateway), before this request
       * is decided locally, default 50 ms.
       */
      storeTimeoutMs: ms.default(50),
      /** While the fallback is in use, how often Redis is probed to come back, default 250 ms. */
      storeBreakerHalfOpenMs: ms.default(250),
      /**
       * After Redis answers again, how long an instance keeps deciding locally while every
       * instance writes back what it admitted meanwhile (everything in the current windows if
       * Redis came back empty), default 1 s. It must exceed the spread with which instances see
       * Redis return: a probe interval plus a reconnect delay, 250 ms each.
       */
      storeRecoverySettleMs: ms.default(1000),
      /**
       * The fallback divides each limit by max(live instances, this), default 1. Set it to the
       * number of instances you run: an instance that starts while Redis is down cannot count them.
       */
      fallbackMinInstances: z.number().int().positive().default(1),
      /**
       * Adds `x-ratelimit-decision: shared|local;t=<store-clock ms>` to limited responses: which
       * store decided and when (debugging a fleet; the exactness tests). Default off.
       */
      decisionHeader: z.boolean().default(false),
      /**
       * Sends the limit check of an operation text seen before as soon as the request body is
       * read, so that the Redis round trip overlaps parsing, validation and pricing instead of
       * following them (src/limits/early-check.ts). The decision is used only if it was made on
       * exactly the dimensions the resolved operation is charged; otherwise it is refunded.
       * Default on; read at start.
       */
      earlyCheck: z.boolean().default(true),
      /**
       * Leases (src/limits/limiter/leasing-decider.ts, ALGORITHM.md "Leases"): a check of a
       * tenant this instance sees often may reserve a few more of the same request's amounts in
       * Redis, which its next requests use without a round trip. Reserved amounts count in Redis
       * at once (never loose); what a lease does not use within its lifetime is refunded. Read at
       * start.
       */
      leases: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Most requests one lease reserves, default 64 (and never more than sharePercent of a limit). */
          maxTokens: z.number().int().min(1).max(1000).default(64),
          /** A lease's tokens are used within this long (and never past 1/60 of a window), default 1 s. */
          lifetimeMs: ms.default(1000),
          /** No lease while less than this share of a limit would stay unreserved, default 25 %. */
          keepPercent: z.number().min(0).max(100).default(25),
          /** Most of a limit one lease may hold, default 1 %. */
          sharePercent: z.number().min(0).max(100).default(1),
        })
        .prefault({}),
      /**
       * Most requests one instance holds at once in plans' burst zones (graduated throttling),
       * default 1,000; past it, a request that does not fit is refused (429) instead of held.
       * 0: nothing is held. A held request keeps its connection and its admission slot.
       */
      maxHeldRequests: z.number().int().nonnegative().default(1000),
      /** How often each instance says it is alive (the fallback divides limits by live instances), default 2 s. */
      instanceHeartbeatMs: ms.default(2000),
      /** How often runtime limit overrides (admin mutations) are re-read from Redis, default 2 s. */
      overridesPollMs: ms.default(2000),
      /** Throttling decisions logged per tenant per minute before they are only counted, default 10. */
      logsPerTenantPerMinute: z.number().int().nonnegative().default(10),
      /**
       * A caller refused by the limit store on a limit all its requests count against (per
       * minute, day, month, key, address, response bytes) is refused again from memory, before
       * its operation is parsed, until its Retry-After and at most this long, default 2 s
       * (a limit raised at run time applies at the door within this time).
       */
      localRefusalMaxMs: ms.default(2000),
      /**
       * Such a refusal is answered after half to all of this long, at random (never after the
       * refusal ends), default 250 ms: a client that ignores Retry-After in a closed loop then
       * sends about 5 requests a second per connection instead of thousands. 0 answers at once.
       */
      localRefusalDelayMs: z.number().int().nonnegative().max(5000).default(250),
      /**
       * Most an operation asking only for `usage` / `rateLimit` may cost (the same field cost as
       * any operation: `history` is priced at 168 points), whatever the plan, default 1,000.
       * The dashboards' largest costs 400; a key may not make them unbounded with aliases.
       */
      usageMaxOperationCost: z.number().int().positive().default(1000),
      /** Abuse cap of the free `usage` / `rateLimit` queries per tenant per rolling minute, default 600. */
      usageQueriesPerMinute: z.number().int().positive().default(600),
      /** Where the 429 body's `documentation` link points; relative to the gateway. */
      documentationUrl: z.string().default('/docs/limits'),
    })
    .prefault({}),
  trustedDocuments: z
    .strictObject({
      /**
       * Documents one tenant may keep registered, default 1000 (an app's whole manifest, several
       * times over). A plan may set its own (`plans.<id>.trustedDocuments`). Read per registration.
       */
      maxDocuments: trustedDocumentCapsSchema.shape.maxDocuments.default(1000),
      /**
       * Bytes one tenant's documents may take together, as stored, default 5 MiB: this bounds
       * what a tenant puts in Redis, or in the gateway's heap without Redis. Per plan as above.
       */
      maxBytes: trustedDocumentCapsSchema.shape.maxBytes.default(5 * 1024 * 1024),
      /**
       * Bytes one document may take as stored, default 64 KiB: many times a large app operation,
       * and well under the request body limit (`server.bodyLimitBytes`, 1 MiB).
       */
      maxDocumentBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024),
    })
    .prefault({}),
  /**
   * Fair admission (src/admission/): between authentication and execution, each tenant runs at
   * most its plan's `admission.maxInFlight` requests at once on an instance, and when the
   * instance is saturated (more requests than its limit, which shrinks while the event loop
   * lags) requests wait in weighted fair order across tenants and priority classes. Read at start.
   */
  admission: z
    .strictObject({
      /** Off: requests go straight on, whatever the load. Default on. */
      enabled: z.boolean().default(true),
      /** Requests one instance runs at once at most (and while its event loop keeps up), default 256. */
      maxInFlight: z.number().int().positive().default(256),
      /** ... and at least, however late the event loop runs, default 16. */
      minInFlight: z.number().int().positive().default(16),
      /** Event-loop delay (p99 over 100 ms) above which the limit shrinks, default 40 ms. */
      targetLoopDelayMs: z.number().int().positive().default(40),
      /** Requests waiting on an instance, all tenants, default 1,024; past it the most over-share tenant's lowest-priority newest request is shed (503). */
      maxQueue: z.number().int().nonnegative().default(1024),
      /** Requests of one tenant waiting, default 128; past it that tenant's requests are refused (429, over its own share). */
      maxQueuePerTenant: z.number().int().nonnegative().default(128),
      /** Longest a request waits for its turn, default 2 s; then 503 (or 429 when it waited behind its own tenant's requests). */
      maxWaitMs: ms.default(2000),
      /** Share of the instance's limit only `critical` requests may use, percent, default 20. */
      criticalReservePercent: z.number().min(0).max(90).default(20),
      /** Waiting this long counts as one priority class more (nothing starves), default 1 s. */
      agePerClassMs: ms.default(1000),
      /**
       * Priority classes, first match wins; unmatched requests are `normal`. A rule matches a
       * request whose key id is in `keys`, whose operation name matches one of `operationNames`
       * (`*` at the end: a prefix), or which selects any of `rootFields` (`Mutation.placeOrder`).
       */
      priorities: z
        .array(
          z.strictObject({
            class: z.enum(['critical', 'normal', 'batch']),
            keys: z.array(z.string()).optional(),
            operationNames: z.array(z.string()).optional(),
            rootFields: z.array(z.string()).optional(),
          }),
        )
        .default([]),
    })
    .prefault({}),
  cache: z
    .strictObject({
      /** Off: every @cached field resolves downstream and no cache call is made. Default on; read at start. */
      enabled: z.boolean().default(true),
      /** Longest one cache read or write may take before it counts as a miss (read) or is dropped (write), default 50 ms. */
      timeoutMs: ms.default(50),
      /** Consecutive failed or timed-out cache calls that open the breaker (no cache calls at all), default 3. */
      breakerFailures: z.number().int().positive().default(3),
      /** How long the breaker stays open before one trial call, default 2 s. */
      breakerHalfOpenMs: ms.default(2000),
      /** Heap bound of the in-process store (no Redis), in bytes: entries are sized as V8 holds them, default 64 MiB. */
      memoryMaxBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024 * 1024),
      /** Part of every entry key's version: change it to start every instance from empty keys; default '' (code and schema decide). */
      version: z.string().max(64).default(''),
    })
    .prefault({}),
  billing: billingSchema.prefault({}),
  audit: auditSchema.prefault({}),
  downstream: z
    .strictObject({
      accounts: downstreamServiceSchema.prefault({}),
      catalog: downstreamServiceSchema.prefault({}),
      orders: downstreamServiceSchema.prefault({}),
      inventory: downstreamServiceSchema.prefault({}),
    })
    .prefault({}),
});

export const configSchema = configObject
  // `when` makes zod run this even after a structural error elsewhere, so a bad role and an
  // unknown plan are reported together; the check therefore reads the value defensively.
  .superRefine((config, ctx) => checkCrossReferences(config, ctx.addIssue), { when: () => true })
  .superRefine((config, ctx) => checkPlanReferences(config, ctx.addIssue))
  // Every tenant leaves the schema with its plan, and says whether it came from `defaultPlan`.
  .transform((config) => ({
    ...config,
    tenants: Object.fromEntries(
      Object.entries(config.tenants).map(([id, t]) => [id, { ...t, plan: t.plan ?? config.defaultPlan ?? '', planFromDefault: t.plan === undefined }]),
    ),
  }));

type AddIssue = (issue: { code: 'custom'; path: (string | number)[]; message: string }) => void;

/**
 * Checks names that point elsewhere in the file: a tenant's plan, a key's tenant, and that no
 * token or key id appears twice. `value` may be only partly valid, so anything of the wrong
 * shape is skipped here: the structural check has already reported it.
 */
function checkCrossReferences(value: unknown, addIssue: AddIssue): void {
  if (!isPlainObject(value)) return;
  const { plans, tenants } = value;
  // Object.hasOwn, not `in`: a plan named "constructor" must not match Object.prototype.
  if (isPlainObject(plans) && isPlainObject(tenants)) {
    for (const [id, tenant] of Object.entries(tenants)) {
      if (isPlainObject(tenant) && typeof tenant.plan === 'string' && !Object.hasOwn(plans, tenant.plan)) {
        addIssue({ code: 'custom', path: ['tenants', id, 'plan'], message: `unknown plan "${tenant.plan}"` });
      }
    }
  }
  const seenHashes = new Set<string>();
  const seenIds = new Set<string>();
  for (const listName of ['apiKeys', 'serviceTokens', 'platformAdminKeys', 'publishableKeys'] as const) {
    const list = value[listName];
    if (!Array.isArray(list)) continue;
    list.forEach((key: unknown, i) => {
      if (!isPlainObject(key)) return;
      const tenant = listName === 'platformAdminKeys' ? undefined : key.tenant;
      if (isPlainObject(tenants) && typeof tenant === 'string' && !Object.hasOwn(tenants, tenant)) {
        addIssue({ code: 'custom', path: [listName, i, 'tenant'], message: `unknown tenant "${tenant}"` });
      }
      if (typeof key.sha256 === 'string') {
        if (seenHashes.has(key.sha256)) {
          addIssue({ code: 'custom', path: [listName, i, 'sha256'], message: 'the same token is configured twice' });
        }
        seenHashes.add(key.sha256);
      }
      if (typeof key.id === 'string') {
        if (seenIds.has(key.id)) {
          addIssue({ code: 'custom', path: [listName, i, 'id'], message: `duplicate key id "${key.id}"` });
        }
        seenIds.add(key.id);
      }
    });
  }
}

/**
 * The plan names of `defaultPlan` and the billing block, once the file is structurally valid:
 * every tenant ends up with a plan that exists.
 */
function checkPlanReferences(config: z.infer<typeof configObject>, addIssue: AddIssue): void {
  const known = (plan: string) => Object.hasOwn(config.plans, plan);
  // A shadow's plan must exist: it is evaluated on every request of the tenants it covers.
  for (const [kind, entries] of [
    ['plans', config.plans],
    ['tenants', config.tenants],
  ] as const) {
    for (const [id, entry] of Object.entries(entries)) {
      const plan = entry.shadow?.plan;
      if (plan !== undefined && !known(plan)) addIssue({ code: 'custom', path: [kind, id, 'shadow', 'plan'], message: `unknown plan "${plan}"` });
    }
  }
  if (config.defaultPlan !== undefined && !known(config.defaultPlan)) {
    addIssue({ code: 'custom', path: ['defaultPlan'], message: `unknown plan "${config.defaultPlan}"` });
  }
  if (config.defaultPlan === undefined) {
    for (const [id, tenant] of Object.entries(config.tenants)) {
      if (tenant.plan === undefined) addIssue({ code: 'custom', path: ['tenants', id, 'plan'], message: 'required: name a plan, or set defaultPlan' });
    }
  }
  for (const [priceId, price] of Object.entries(config.billing.prices)) {
    if (price.plan !== undefined && !known(price.plan))
      addIssue({ code: 'custom', path: ['billing', 'prices', priceId, 'plan'], message: `unknown plan "${price.plan}"` });
  }
  for (const [meter, m] of Object.entries(config.billing.meters)) {
    for (const plan of m.plans) if (!known(plan)) addIssue({ code: 'custom', path: ['billing', 'meters', meter, 'plans'], message: `unknown plan "${plan}"` });
  }
  for (const key of ['pastDuePlan', 'canceledPlan'] as const) {
    const plan = config.billing[key];
    if (plan !== undefined && !known(plan)) addIssue({ code: 'custom', path: ['billing', key], message: `unknown plan "${plan}"` });
  }
  if (config.billing.canceledPlan === undefined && config.defaultPlan === undefined && Object.keys(config.billing.prices).length > 0) {
    addIssue({
      code: 'custom',
      path: ['billing', 'canceledPlan'],
      message: 'required with billing prices when there is no defaultPlan: the plan a cancelled subscription returns a tenant to',
    });
  }
}

export type Config = z.infer<typeof configSchema>;
export type PlanConfig = z.infer<typeof planSchema>;
export type TenantConfig = z.infer<typeof tenantSchema>;
export type PublishableKeyConfig = z.infer<typeof publishableKeySchema>;
