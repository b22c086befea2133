/**
 * Saturating load against several gateway instances, and the analysis of what they admitted,
 * from each decision's source and store-clock time (`limits.decisionHeader`). Used by the
 * exactness tests and `npm run bench -- exactness`.
 */

export interface Decision {
  /** Index of the gateway instance that answered. */
  instance: number;
  status: number;
  /** `shared` (Redis decided), `local` (the instance's fallback) or `remembered` (a Redis refusal replayed at the door); null without the header. */
  source: string | null;
  /** Store-clock ms of the decision; for a response without the header, when it arrived. */
  t: number;
}

export interface SaturationOptions {
  urls: readonly string[];
  /** Client loops, spread round-robin over the instances; each sends its next request at once. */
  clients: number;
  token: string;
  query: string;
  durationMs: number;
  /** Things to do during the run (stop Redis, ...), at ms from its start. */
  events?: { atMs: number; run: () => Promise<void> | void }[];
}

export async function saturate(options: SaturationOptions): Promise<{ decisions: Decision[]; startedAt: number; errors: number }> {
  const decisions: Decision[] = [];
  let errors = 0;
  const startedAt = Date.now();
  const end = startedAt + options.durationMs;
  const body = JSON.stringify({ query: options.query });
  const loop = async (client: number) => {
    const instance = client % options.urls.length;
    const url = `${options.urls[instance]}/graphql`;
    while (Date.now() < end) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
          body,
        });
        await response.arrayBuffer();
        const header = /^(\w+);t=(\d+)$/.exec(response.headers.get('x-ratelimit-decision') ?? '');
        decisions.push({ instance, status: response.status, source: header?.[1] ?? null, t: header ? Number(header[2]) : Date.now() });
      } catch {
        errors += 1;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const timers = (options.events ?? []).map(
    (event) => new Promise<void>((resolve, reject) => setTimeout(() => Promise.resolve(event.run()).then(resolve, reject), event.atMs)),
  );
  await Promise.all([...Array.from({ length: options.clients }, (_, i) => loop(i)), ...timers]);
  return { decisions, startedAt, errors };
}

/**
 * The most admissions (status 200) whose decision times fit in one rolling window (t - W, t],
 * among those in `range`, leaving out `exclude`.
 */
export function maxInWindow(
  decisions: readonly Decision[],
  windowMs: number,
  range: { from?: number; to?: number; exclude?: ReadonlySet<Decision> } = {},
): number {
  const times = decisions
    .filter((d) => d.status === 200 && d.t >= (range.from ?? -Infinity) && d.t <= (range.to ?? Infinity) && !range.exclude?.has(d))
    .map((d) => d.t)
    .sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start += 1;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

/**
 * The fallback's stated bound for one outage starting at `outageAt` (ALGORITHM.md): the limit,
 * plus Y = what Redis admitted after the oldest of the instances' last shared decisions before
 * the outage, plus floor(limit / D) for each instance that made no shared decision in the window
 * before it.
 */
export function outageBound(
  decisions: readonly Decision[],
  options: { outageAt: number; limit: number; windowMs: number; instances: number; divisor: number },
): { bound: number; y: number; stale: number } {
  const before = decisions.filter((d) => d.source === 'shared' && d.t <= options.outageAt);
  const lastByInstance = Array.from({ length: options.instances }, (_, i) =>
    before.filter((d) => d.instance === i).reduce((max, d) => Math.max(max, d.t), -Infinity),
  );
  const fresh = lastByInstance.filter((t) => t > options.outageAt - options.windowMs);
  const stale = options.instances - fresh.length;
  const oldest = fresh.length > 0 ? Math.min(...fresh) : options.outageAt;
  const y = before.filter((d) => d.status === 200 && d.t > oldest).length;
  return { bound: options.limit + y + stale * Math.floor(options.limit / options.divisor), y, stale };
}
