/**
 * How many calls one downstream service may have in flight, learnt from what its calls show: a
 * gradient limit in the manner of Envoy's adaptive concurrency filter and Netflix's
 * concurrency-limits (GradientLimit), written small because no npm library does it.
 *
 * Attempts are sampled (round trip, failed or not, slots in use). Every `windowMs` with at least
 * `minSamples` samples, the window closes and the limit moves:
 *
 * - **Failures**: when more than 10% of the window's attempts failed the way a sick service
 *   fails (5xx, 429, timeouts, network errors: what counts against the breaker), the limit is
 *   multiplied by `max(0.5, 1 - failedShare)`, whatever their latency (as TCP halves its window on
 *   loss). A service that fails fast looks fast, and would otherwise be given more slots to fail
 *   with: an all-failing service is halved every window down to `min`.
 * - **Latency** otherwise: `gradient = clamp((baseline x (1 + tolerance) + slackMs) / p50, 0.5, 2)`
 *   and `limit = limit x gradient + sqrt(limit)` (Envoy's formula and headroom). `p50` is the
 *   median round trip of the window's successful attempts; `baseline` is the lowest window p50 of
 *   the last `baselineMs` (the latency without queueing, as Envoy's minRTT and Vegas's
 *   rtt_noload). A p50 above the allowance means calls queue at the service, and the limit shrinks
 *   in proportion, at most by half per window. `slackMs` keeps jitter from looking like queueing
 *   at a service that answers in a millisecond, and the gateway's own event-loop delay (`lagMs`)
 *   is allowed on top: a saturated gateway reads every answer late, and must not shed calls to
 *   a healthy service for it.
 * - **App-limited**: never grows while fewer than half the slots were used (Netflix's rule: an
 *   idle service proves nothing about more load).
 *
 * Against a service of capacity C (latency rising in proportion past C calls) under unbounded
 * demand this settles where `limit = C x (1 + tolerance) + sqrt(limit)`, about 1.3-1.5 C: the
 * knee plus headroom. Starts at `max`: a new instance serves as it did before it measured
 * anything. A baseline lasts `baselineMs` (60 s), so a service that stays slower for that long
 * has its new latency accepted as normal and gets its slots back; and under load that never lets
 * up, the baseline drifts with it (Envoy pins concurrency to its minimum every minute to measure
 * afresh; that costs a throughput dip each time, which we did not take).
 *
 * Deterministic: no timers; the clock is `now`, and windows close on the first sample past them.
 */

export interface AttemptSample {
  /** The attempt's round trip, ms. */
  rttMs: number;
  /** It failed the way an unhealthy service fails (see `countsAgainstBreaker`). */
  failed: boolean;
  /** Slots in use when it finished, itself included. */
  inFlight: number;
}

export interface ConcurrencyLimit {
  /** Calls allowed in flight now: an integer from `min` to `max`. */
  limit(): number;
  /** One finished attempt. */
  sample(sample: AttemptSample): void;
}

export interface AdaptiveLimitOptions {
  /** The floor (config `minInFlight`). */
  min: number;
  /** The ceiling, and where the limit starts (config `maxInFlight`). */
  max: number;
  /** Clock in ms. */
  now: () => number;
  /** How often the limit moves at most, ms; default 100 (Envoy's default sample window). */
  windowMs?: number;
  /** Samples a window needs before it closes; default 5, so one odd call cannot move the limit. */
  minSamples?: number;
  /** Latency over the baseline not taken for queueing, as a share; default 0.1. */
  tolerance?: number;
  /** ... and in ms on top, default 5: jitter of the gateway and the network, not the service. */
  slackMs?: number;
  /**
   * The gateway's own event-loop delay now, ms (loop-lag.ts), added to the allowance when a window
   * closes: an answer that waited for a busy loop is the gateway's lateness, not the service's.
   * Default none.
   */
  lagMs?: () => number;
  /** How long a window's p50 may stand as the baseline, ms; default 60 000 (Envoy's minRTT interval). */
  baselineMs?: number;
}

/** Share of failed attempts in a window above which the limit shrinks for failures alone. */
const FAILURE_TOLERANCE = 0.1;

export function createAdaptiveLimit(options: AdaptiveLimitOptions): ConcurrencyLimit {
  const { min, max, now } = options;
  if (!(min >= 1 && max >= min)) throw new Error(`adaptive limit needs 1 <= min <= max, got min ${min}, max ${max}`);
  const windowMs = options.windowMs ?? 100;
  const minSamples = options.minSamples ?? 5;
  const tolerance = options.tolerance ?? 0.1;
  const slackMs = options.slackMs ?? 5;
  const lagMs = options.lagMs ?? (() => 0);
  const baselineMs = options.baselineMs ?? 60_000;

  let limit = max;
  let windowStart = now();
  let rtts: number[] = [];
  let failures = 0;
  let peakInFlight = 0;
  /** Window p50s that may still become the baseline: increasing rtt, increasing time (a monotonic deque). */
  const baselines: { at: number; rttMs: number }[] = [];

  function baselineWith(at: number, p50: number): number {
    while (baselines.length > 0 && (baselines[baselines.length - 1]?.rttMs ?? 0) >= p50) baselines.pop();
    baselines.push({ at, rttMs: p50 });
    while ((baselines[0]?.at ?? at) < at - baselineMs) baselines.shift();
    return baselines[0]?.rttMs ?? p50;
  }

  function close(at: number): void {
    const failedShare = failures / (rtts.length + failures);
    if (failedShare > FAILURE_TOLERANCE) {
      limit *= Math.max(0.5, 1 - failedShare);
    } else if (rtts.length > 0) {
      const p50 = median(rtts);
      const allowedMs = baselineWith(at, p50) * (1 + tolerance) + slackMs + lagMs();
      let gradient = Math.min(2, Math.max(0.5, allowedMs / Math.max(p50, 1e-3)));
      const appLimited = peakInFlight < limit / 2;
      if (appLimited) gradient = Math.min(gradient, 1);
      limit = limit * gradient + (appLimited ? 0 : Math.sqrt(limit));
    }
    limit = Math.min(max, Math.max(min, limit));
    windowStart = at;
    rtts = [];
    failures = 0;
    peakInFlight = 0;
  }

  return {
    limit: () => Math.floor(limit),
    sample({ rttMs, failed, inFlight }) {
      if (failed) failures++;
      else rtts.push(rttMs);
      peakInFlight = Math.max(peakInFlight, inFlight);
      const at = now();
      if (at - windowStart >= windowMs && rtts.length + failures >= minSamples) close(at);
    },
  };
}

/** `max` always (config `adaptive: false`): the concurrency cap as configured. */
export function createFixedLimit(max: number): ConcurrencyLimit {
  return { limit: () => max, sample: () => {} };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
