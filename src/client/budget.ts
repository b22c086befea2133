import type { Priority } from './priority-queue.js';
import type { PolicyState, RateLimitInfo } from './rate-limit-headers.js';

/** What the app may show (a budget indicator): every policy as last reported, and the tightest. */
export interface Budget {
  policies: PolicyState[];
  /** The policy with the smallest share left (remaining / quota), or null before any response. */
  tightest: PolicyState | null;
  /** Why no limit applies to this key, when the gateway says so. */
  exempt: string | null;
  /** Requests waiting in the client's queue, and sent but not answered. */
  queued: number;
  inFlight: number;
  /** Epoch ms until which the client holds requests back (budget exhausted), or null. */
  pausedUntil: number | null;
}

export interface PacingOptions {
  /**
   * Share of each quota kept for more important requests: a request of this priority is held
   * back once less than this share would be left. Default high 0, normal 0.05, low 0.2.
   */
  reserve?: Partial<Record<Priority, number>>;
  /** Below this share of a quota left, sends are spread evenly until the quota resets, default 0.25. */
  spreadBelow?: number;
}

const DEFAULT_RESERVE: Record<Priority, number> = { high: 0, normal: 0.05, low: 0.2 };

/** `{ send: true }`, or when to look again: at an epoch ms, or (null) when an answer comes in. */
export type Admission = { send: true } | { send: false; retryAt: number | null };

/**
 * The client's model of its rate limits, from the RateLimit headers of every response, and the
 * pacing decision made before each send. Policies are learned per operation (a field limit is
 * reported only for the operations that select the field); an operation not seen yet is checked
 * against the policies every response so far has reported (the tenant-wide ones). Units: cost
 * policies (`cost-*`) charge the operation's last estimated cost, bytes policies (`bytes-*`) are
 * checked only for something left, all others one per request.
 */
export function createBudgetTracker(options: PacingOptions = {}) {
  const reserve = { ...DEFAULT_RESERVE, ...options.reserve };
  const spreadBelow = options.spreadBelow ?? 0.25;
  const policies = new Map<string, PolicyState>();
  const perOperation = new Map<string, Set<string>>();
  const costOf = new Map<string, number>();
  const reserved = new Map<string, number>();
  const lastSent = new Map<string, number>();
  /** When the request whose answer set each policy's state was sent: an older answer arriving later only lowers it. */
  const stateSentAt = new Map<string, number>();
  let everywhere: Set<string> | null = null;
  let exempt: string | null = null;

  const unitsOf = (policy: string, operation: string) => (policy.startsWith('cost') ? (costOf.get(operation) ?? 1) : policy.startsWith('bytes') ? 0 : 1);

  function applicable(operation: string): string[] {
    return [...(perOperation.get(operation) ?? everywhere ?? [])];
  }

  /** Requests in flight of operations whose policies are not known yet. */
  const probing = new Map<string, number>();

  function admit(operation: string, priority: Priority, now = Date.now()): Admission {
    // Until an operation's first answer tells its policies, one at a time: requests sent blind
    // could not be counted against a limit nobody has reported yet.
    if (!perOperation.has(operation) && (probing.get(operation) ?? 0) > 0) return { send: false, retryAt: null };
    // Held back by any policy: until the latest time one names (answers wake the queue anyway).
    let blocked = false;
    let until: number | null = null;
    const later = (at: number | null) => {
      blocked = true;
      if (at !== null) until = until === null ? at : Math.max(until, at);
    };
    for (const name of applicable(operation)) {
      const state = policies.get(name);
      if (!state) continue;
      const inFlight = reserved.get(name) ?? 0;
      if (now >= state.resetAt && state.remaining < (state.quota ?? Infinity)) {
        // Some of the quota is back by now, how much is unknown: one request at a time finds out.
        if (inFlight > 0) later(null);
        continue;
      }
      const units = unitsOf(name, operation);
      const left = state.remaining - inFlight;
      const keep = name.startsWith('bytes') ? 0 : Math.floor(reserve[priority] * (state.quota ?? 0));
      if (left - units < keep || left <= 0) {
        later(now < state.resetAt ? state.resetAt : null);
        continue;
      }
      if (state.quota && left < state.quota * spreadBelow && !name.startsWith('bytes')) {
        // Spread what is left over the time until the quota is back.
        const gap = Math.max(0, state.resetAt - now) / Math.max(1, left / Math.max(1, units));
        const next = (lastSent.get(name) ?? 0) + gap;
        if (next > now) later(next);
      }
    }
    return blocked ? { send: false, retryAt: until } : { send: true };
  }

  function sent(operation: string, now = Date.now()): string[] {
    if (!perOperation.has(operation)) probing.set(operation, (probing.get(operation) ?? 0) + 1);
    const names = applicable(operation);
    for (const name of names) {
      reserved.set(name, (reserved.get(name) ?? 0) + unitsOf(name, operation));
      lastSent.set(name, now);
    }
    return names;
  }

  /** An answer arrived: release what `sent` reserved, then take in what the headers say. */
  function answered(operation: string, reservedFor: string[], info: RateLimitInfo | null, cost: number | null, sentAt = Date.now()): void {
    for (const name of reservedFor) reserved.set(name, Math.max(0, (reserved.get(name) ?? 0) - unitsOf(name, operation)));
    if (probing.has(operation)) {
      const left = probing.get(operation)! - 1;
      if (left > 0) probing.set(operation, left);
      else probing.delete(operation);
    }
    if (cost !== null) costOf.set(operation, cost);
    if (!info) return;
    exempt = info.exempt;
    const names = new Set(info.policies.map((p) => p.name));
    if (names.size > 0) {
      perOperation.set(operation, names);
      everywhere = everywhere === null ? names : new Set([...everywhere].filter((n) => names.has(n)));
    }
    for (const policy of info.policies) {
      const current = policies.get(policy.name);
      if (current && sentAt < (stateSentAt.get(policy.name) ?? 0)) {
        // Answered out of order: the gateway counted this one before the newer report was made.
        if (policy.remaining < current.remaining) policies.set(policy.name, { ...current, remaining: policy.remaining });
        continue;
      }
      policies.set(policy.name, policy);
      stateSentAt.set(policy.name, sentAt);
    }
    // A refusal without policies (a 429 or 503 with only Retry-After) holds everything back that long.
    if (info.retryAfterSeconds !== null && info.policies.length === 0) {
      const until = Date.now() + info.retryAfterSeconds * 1000;
      for (const name of everywhere ?? []) {
        const state = policies.get(name);
        if (state) policies.set(name, { ...state, remaining: 0, resetAt: Math.max(state.resetAt, until) });
      }
    }
  }

  function snapshot(queued: number, inFlight: number, now = Date.now()): Budget {
    const list = [...policies.values()];
    const share = (p: PolicyState) => (p.quota ? p.remaining / p.quota : 1);
    const tightest = list.filter((p) => !p.name.startsWith('bytes')).sort((a, b) => share(a) - share(b))[0] ?? null;
    const paused = list.filter((p) => p.remaining <= 0 && p.resetAt > now).map((p) => p.resetAt);
    return { policies: list, tightest, exempt, queued, inFlight, pausedUntil: paused.length > 0 ? Math.max(...paused) : null };
  }

  return { admit, sent, answered, snapshot };
}

export type BudgetTracker = ReturnType<typeof createBudgetTracker>;
